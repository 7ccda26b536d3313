"""toolsims: local servers that speak the real wire formats of the tools' cloud APIs.

`open_search_sim` serves Brave Search's ``/res/v1/web/search`` and SerpAPI's ``/search.json``
on 127.0.0.1 (an ephemeral port), scripted per query, with failures, stalls and key checks; the
web tools' tests point their base URLs at it. `open_site` serves scripted web pages (for
`web_scrape` and the SSRF guard's redirect and limit tests). See docs/tools.md.
`open_feed_sim` serves Reddit's JSON listings, the Hacker News Firebase API, YouTube's channel
Atom feeds and plain RSS 2.0 / Atom feeds for discovery's tests (docs/feeds.md).
`open_embedding_sim` serves OpenAI's ``/v1/embeddings`` (base64 or float vectors, OpenAI's
errors, Ollama-like models that ignore ``dimensions``) for memory's cloud embeddings
(docs/memory.md); `EmbeddingSim.transport` is the same sim in memory.
"""

from clanker.toolsims.embeddings import EmbeddingSim, SimModel, open_embedding_sim
from clanker.toolsims.feeds import FeedSim, SimChannel, SimFeed, SimItem, open_feed_sim
from clanker.toolsims.search import ApiScript, SearchSim, SimFailure, SimHit, open_search_sim
from clanker.toolsims.site import Page, Site, open_site

__all__ = [
    "ApiScript",
    "EmbeddingSim",
    "FeedSim",
    "Page",
    "SearchSim",
    "SimChannel",
    "SimFailure",
    "SimFeed",
    "SimHit",
    "SimItem",
    "SimModel",
    "Site",
    "open_embedding_sim",
    "open_feed_sim",
    "open_search_sim",
    "open_site",
]
