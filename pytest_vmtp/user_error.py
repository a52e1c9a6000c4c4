"""UserError: the base of every exception whose str() is one line meant for the user.

It imports nothing, so that any module (errors.py, the plugin, the local cloud's control
module) can name it without loading the code that raises it.
"""


class UserError(Exception):
    """A failure or mistake the user can act on; str(exc) is the one line to show them."""
