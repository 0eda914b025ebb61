"""Models: loading them and asking them things.

- `loading`: the packaged default base model, resolving a project's model, 4-bit loading.
- `trust`: which base models may run their own code.
- `prompts`: the chat messages a model sees (tuned prompt, few-shot baseline prompt).
- `generation`: batched greedy generation, label scoring and each answer's confidence;
  `constrained`: decoding constrained to a JSON schema.
- `tokens`: counting an example's tokens through the chat template.
- `embeddings`, `similarity`: sentence embeddings and the neighbour graph the checks use.
- `playground`: the tuned model and its base answering side by side.
"""
