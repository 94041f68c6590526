"""The GX expectation suites openbooks ships: one JSON file per suite
(``<name>.json``), found by ``validation.expectations_dir`` (default: this
directory, installed with the package as data)."""
