"""Projects and the people who work on them.

- `projects`: creating and reading a project; the `Project` record the rest of the studio uses.
- `taskdef`: defining a project's task after it exists (description, output format, guidelines, labels).
- `task_inference`: inferring the task and the output format from imported examples.
- `formats`: output specs (labels, JSON schema, regex, free text) and checking one answer against them.
- `people`, `signin`: roles (annotator, reviewer, admin), hashed passwords and sign-on identities.
- `confinement`: which server folders the app may read and write.
- `backup`: backing up and restoring the whole data home.
"""
