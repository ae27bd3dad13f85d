"""Detectors of false claims and rumours in text: news claims, articles and the text of social posts."""
