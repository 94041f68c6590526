"""``openbooks ui``: a read-only web dashboard over the warehouse.

- ``filters``: the filters a page takes from its URL (date range, model,
  channel, customer, GPU type, role), parsed and written back as a query string;
- ``snapshot``: every page's reads in one read-only, locked-down connection
  (the sandbox of ``openbooks query``), cached until the warehouse changes;
- ``views``: what each page reads (SQL), as named tables;
- ``headline``: the headline strip's figures against their trailing median;
- ``charts``: Vega-Lite specs drawn in the browser;
- ``html``: the pages' HTML; ``assets``: the stylesheet, script and the Vega
  bundle openbooks serves itself;
- ``access``: the bind address and the token every request must carry;
- ``app``: the Starlette application and its routes.
"""
