"""Register the ``browser`` marker for the real-browser tests in this folder."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium and playwright)",
    )
