"""Detectors of social posts as a whole: cross-modal checks of the post's text and date against its pictures
(re-use of a known picture, text in the picture, the picture's own capture date). Each picture of a post is
also analysed on its own by the image detectors, as part `images[i]`."""
