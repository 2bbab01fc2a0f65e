"""Apps synthesized by ``benchmarks/synth.py`` (not benchmark scripts themselves)."""
