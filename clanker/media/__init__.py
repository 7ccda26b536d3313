"""Media in text replies: a GIF found on GIPHY, or a generated image, posted with the reply.

The model asks for it in its reply JSON (``"media": {"type": "gif" | "image", "prompt": …}``);
`request` reads that and decides (sans-IO: settings, daily budgets, keys, model allowlists),
`giphy` searches GIPHY through the SSRF-guarded fetcher, `images` asks OpenAI's or xAI's images
API through the official openai SDK, `config.MediaConfig` holds the keys and base URLs. The
reply path (`clanker.guilds.media`) carries a decision out after the text is decided; a failure
never loses the text. See docs/tools.md, "Media". Nothing is imported here, so
``import clanker.media.request`` pulls in neither trio nor httpx.
"""
