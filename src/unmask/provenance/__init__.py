"""Shared parsing for provenance evidence: what a file says about its own origin, read exactly.

- `c2pa_store`: Content Credentials (C2PA) manifests, validated with c2pa-python (optional extra).
- `xmp`, `exif`, `iptc`, `generators`, `software`: metadata records, generator parameters, software names.
- `consistency`: EXIF thumbnail, declared size and timestamps checked against the image.
- `watermark`: the DWT-DCT invisible watermark of Stable Diffusion, SDXL and FLUX.1 reference code.
- `jpeg_tables`, `jpeg_markers`, `double_jpeg`: quantization-table fingerprints and double compression.
"""
