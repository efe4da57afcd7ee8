"""Pipelines: A2SB restoration of audio of any length."""

from a2sb.pipelines.pipeline_a2sb import A2SBPipeline, A2SBPipelineOutput

__all__ = ["A2SBPipeline", "A2SBPipelineOutput"]
