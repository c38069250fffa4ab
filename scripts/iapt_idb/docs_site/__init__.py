"""The offline data-quality docs site: `iapt-idb docs` and `build_site` for `iapt-idb demo`.

Every word of the site is in ``templates/`` (Jinja2, autoescaped; its README.md says which file holds
which page). Modules: ``inputs`` (validation report, rule catalogue, dbt manifest), ``codes`` and
``vodim`` (completeness and validity as NHS England counts it), ``charts`` (inline SVG), ``render``
(the templates' loader), ``pages_month`` and ``pages_reference`` (prepare each page's values),
``layout`` (favicon), ``external`` (dbt docs and Great Expectations Data Docs copies), ``privacy``
(no NHS Number or birth date in the site), ``builder`` (``build_site``).
"""

from .builder import build_site

__all__ = ["build_site"]
