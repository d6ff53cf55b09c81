"""The media archive (docs/media.md): downloading the files of captured posts apart from
capture, storing each once under its SHA-256, and matching photos across channels.

- :mod:`.policy`: what to do with an item and after a failure (pure);
- :mod:`.fetch`: one file, part by part, into a partial file that a restart resumes;
- :mod:`.downloader`: the app component working through the queue;
- :mod:`.phash`: perceptual hashes of photos and finding the same picture again (pure
  but for reading the image).
"""
