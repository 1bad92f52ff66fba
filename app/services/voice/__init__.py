"""Voice messages: upload, transcoding with ffmpeg, m4a checks, moving files to S3."""
