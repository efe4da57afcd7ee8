"""Audio in and out: files read whole or in blocks, results written atomically, full scale.

- `audio`: read a file whole (`load_audio`), write one (`save_audio`), resample, check samples.
- `audio_stream`: read and write files block by block, for audio of any length.
- `audio_files`: find the audio files of folders.
- `atomic_output`: write a result through a hidden partial file, renamed once complete.
- `full_scale`: what happens to samples above full scale when written as integers.

Nothing here knows about the model: the pipelines and the command line build on it.
"""
