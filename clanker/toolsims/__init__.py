"""toolsims: local servers that speak the real wire formats of the tools' cloud APIs.

`open_search_sim` serves Brave Search's ``/res/v1/web/search`` and SerpAPI's ``/search.json``
on 127.0.0.1 (an ephemeral port), scripted per query, with failures, stalls and key checks; the
web tools' tests point their base URLs at it. `open_site` serves scripted web pages (for
`web_scrape` and the SSRF guard's redirect and limit tests). See docs/tools.md.
"""

from clanker.toolsims.search import ApiScript, SearchSim, SimFailure, SimHit, open_search_sim
from clanker.toolsims.site import Page, Site, open_site

__all__ = [
    "ApiScript",
    "Page",
    "SearchSim",
    "SimFailure",
    "SimHit",
    "Site",
    "open_search_sim",
    "open_site",
]
