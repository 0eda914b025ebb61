"""Serving: shipping a finished run as a model others can load, and answering requests with it.

- `export`: the run as a PEFT adapter folder or a merged model folder (safetensors,
  tokenizer, chat template, generation config, model card, Ollama Modelfile), checked
  by reloading it with plain transformers; the commands that serve it elsewhere (vLLM,
  Ollama) come from `commands`.
- `engine`: the one place that answers conversations for a run, returning each answer's
  text, confidence and routing band. Everything served goes through it, so switching the
  studio's decoding switches what is served.
- `batcher`, `protocol`, `server`: an OpenAI-compatible HTTP server (`studio model
  serve`) whose requests that arrive together are answered in one batch.
- `recording`: the inputs the server was unsure of, recorded (when switched on) and
  offered to the experts as draft examples.
- `process`: starting and stopping that server from the Deploy page.

Nothing here imports streamlit or opens DuckDB while serving; torch and transformers load
inside the functions that need them.
"""
