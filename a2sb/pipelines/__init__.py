"""Pipelines: A2SB restoration of audio of any length.

`A2SBPipeline` (pipeline_a2sb.py) is the one public class. Its modules, by what they do:

Loading (what a pipeline is made of)
    pipeline_sources.py        from_pretrained: the bundled model, a local folder, a Hub id
    bundled_model.py           a2sb-small, inside the package
    converted_checkpoints.py   from_official_checkpoints: the release, converted once, cached
    pipeline_checks.py         the parts, the arguments of a call, the sampling defaults

Restoring (what a call does)
    pipeline_audio.py          __call__'s arrays in and out
    bandwidth_cutoff.py        the cutoff: given and checked, or detected
    missing_region.py          what is missing, for any range of frames
    whole_restoration.py       __call__: a batch in memory ─┐
    streamed_restoration.py    restore_file: blocks of a file ─┤
                                                               ▼
    wavefront.py               the one bridge loop (paper Algorithm 1), over blocks of
                               frames; the MultiDiffusion mean of overlapping windows
    multidiffusion.py          which windows the model sees at each step
    bridge_sampling.py         the parts and the plan the loop runs with
    keyed_noise.py             noise keyed by (seed, item, step, block): order-free

docs/pipeline.md walks through a call; docs/concepts.md explains the wavefront and the keyed
noise.
"""

from a2sb.pipelines.pipeline_a2sb import A2SBPipeline, A2SBPipelineOutput

__all__ = ["A2SBPipeline", "A2SBPipelineOutput"]
