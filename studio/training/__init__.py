"""Training a LoRA adapter (QLoRA on a GPU) on a project's approved examples.

- `presets`: Quick, Balanced, Thorough.
- `trainer`: `TrainConfig` and the TRL SFTTrainer run; `recipe`: the per-device choices.
- `sequences`: the token sequences a run trains on, with their loss masks.
- `preflight`: what a run will train on and whether it fits, before launch; `calibration`: measuring it.
- `launch`: launching, cancelling, resuming and waiting for runs from the app's side; `supervisor`: starting
  queued workers, adopting live ones, recording the ended ones; `run_view`: what the Train page shows of a run.
- `worker`: the process that trains, answers the held-out set and checks the merged model.
- `callbacks`: live progress, cancellation and validation inside the trainer; `progress`: the run's event log.
- `manifest`, `modelcard`: what reproduces a run, and its model card.
"""
