"""Repository root conftest: the plugin itself is loaded through its pytest11 entry point.

Nothing here on purpose: `pytest` at the root runs scenarios/ exactly as an installed
`pytest --pyargs pytest_vmtp.scenarios` does elsewhere.
"""
