"""Cross-modal checks of social posts (a post's text against its pictures), shared by the post detectors:

- `phash`: perceptual hashes (pHash, dHash) that survive re-encoding, resizing and light cropping;
- `index`: the local SQLite index of pictures the user has (`unmask index add DIR`), searched by hash;
- `dates`: the post's time, a picture's capture time and camera, years, dates and "today" words in text;
- `ocr`: text found in pictures (RapidOCR, PP-OCRv4; the `ocr` extra), imported only when it runs.
"""
