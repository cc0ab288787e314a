"""Run a whole job: load problems, build trees through the runtime, save them, export samples."""
