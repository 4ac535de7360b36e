"""Media without Qt: probe, audio decode, waveform peaks, spectrogram, exact
video frames, thumbnails and clips. Import the submodules you need
(`media.probe`, `media.audio`, `media.peaks`, `media.spectrogram`,
`media.video`, `media.thumbnails`, `media.clips`); failures a user can cause
raise `media.errors.MediaError`, whose message names the file and the problem.
"""
