"""Vision: images in the conversation reach vision-capable models as images.

`refs` finds a message's images (attachments and image links), sans-IO; `encode` checks and
re-encodes image bytes under the limits (Pillow); `load` downloads them (the bridge for
Discord's CDN, the SSRF-guarded fetcher for links) and turns them into `ImagePart`s or short
text notes. See docs/tools.md, "Vision".
"""
