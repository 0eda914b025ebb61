"""Ordered schema migrations. Append new ones; never edit one that has shipped."""

MIGRATIONS: list[str] = [
    # 1: the walking skeleton's data model
    """
    CREATE SEQUENCE project_ids START 1;
    CREATE TABLE projects (
        id BIGINT PRIMARY KEY DEFAULT nextval('project_ids'),
        name VARCHAR NOT NULL UNIQUE,
        description VARCHAR NOT NULL DEFAULT '',
        output_spec JSON NOT NULL,
        base_model VARCHAR NOT NULL,
        split_seed INTEGER NOT NULL DEFAULT 13,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    CREATE SEQUENCE example_ids START 1;
    CREATE TABLE examples (
        id BIGINT PRIMARY KEY DEFAULT nextval('example_ids'),
        project_id BIGINT NOT NULL,
        external_id VARCHAR,
        messages JSON NOT NULL,
        tags VARCHAR[] NOT NULL DEFAULT [],
        source VARCHAR NOT NULL DEFAULT 'editor',
        status VARCHAR NOT NULL DEFAULT 'draft',
        author VARCHAR NOT NULL DEFAULT '',
        reviewer VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        revision INTEGER NOT NULL DEFAULT 1,
        deleted_at TIMESTAMP
    );
    CREATE INDEX examples_project ON examples (project_id);
    CREATE SEQUENCE revision_ids START 1;
    CREATE TABLE revisions (
        id BIGINT PRIMARY KEY DEFAULT nextval('revision_ids'),
        example_id BIGINT NOT NULL,
        revision INTEGER NOT NULL,
        author VARCHAR NOT NULL,
        changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        before JSON,
        after JSON NOT NULL
    );
    CREATE SEQUENCE finding_ids START 1;
    CREATE TABLE findings (
        id BIGINT PRIMARY KEY DEFAULT nextval('finding_ids'),
        project_id BIGINT NOT NULL,
        kind VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        example_ids BIGINT[] NOT NULL,
        score DOUBLE NOT NULL,
        explanation VARCHAR NOT NULL,
        state VARCHAR NOT NULL DEFAULT 'open',
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    CREATE TABLE runs (
        id VARCHAR PRIMARY KEY,
        project_id BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        config JSON NOT NULL,
        snapshot_hash VARCHAR NOT NULL,
        n_train INTEGER NOT NULL,
        n_eval INTEGER NOT NULL,
        run_dir VARCHAR NOT NULL,
        pid INTEGER,
        device VARCHAR,
        peak_memory_mb DOUBLE,
        tokens_per_second DOUBLE,
        error VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        started_at TIMESTAMP,
        finished_at TIMESTAMP
    );
    CREATE TABLE predictions (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        example_id BIGINT NOT NULL,
        external_id VARCHAR,
        expected VARCHAR NOT NULL,
        output VARCHAR NOT NULL,
        scores JSON NOT NULL,
        latency_s DOUBLE
    );
    CREATE TABLE evaluations (
        run_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        metrics JSON NOT NULL,
        primary_metric VARCHAR NOT NULL,
        primary_value DOUBLE NOT NULL,
        n INTEGER NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        PRIMARY KEY (run_id, model)
    );
    """,
    # 2: the evaluation dashboard: confidence and details per prediction, a ship margin per project
    """
    ALTER TABLE predictions ADD COLUMN confidence DOUBLE;
    ALTER TABLE predictions ADD COLUMN details JSON;
    ALTER TABLE projects ADD COLUMN ship_margin DOUBLE DEFAULT 0.05;
    """,
    # 3: the expert workspace: people and roles, comments, review times, trash, per-tag targets
    """
    CREATE TABLE people (
        name VARCHAR PRIMARY KEY,
        role VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    CREATE SEQUENCE comment_ids START 1;
    CREATE TABLE comments (
        id BIGINT PRIMARY KEY DEFAULT nextval('comment_ids'),
        example_id BIGINT NOT NULL,
        author VARCHAR NOT NULL,
        body VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    CREATE INDEX comments_example ON comments (example_id);
    CREATE INDEX revisions_example ON revisions (example_id);
    -- a scan with zone maps finds a project's rows as fast at 100,000 examples, and an ART
    -- index makes every bulk change of a list column (tags) rewrite its entries
    DROP INDEX examples_project;
    ALTER TABLE examples ADD COLUMN reviewed_at TIMESTAMP;
    ALTER TABLE examples ADD COLUMN deleted_by VARCHAR;
    ALTER TABLE projects ADD COLUMN coverage_targets JSON DEFAULT '{}';
    ALTER TABLE projects ADD COLUMN reviewer_must_differ BOOLEAN DEFAULT false;
    """,
    # 4: consistency engine: embedding cache, neighbour graph, finding adjudication, coverage targets
    """
    CREATE TABLE IF NOT EXISTS embeddings (
        text_hash VARCHAR PRIMARY KEY,
        vector BLOB NOT NULL
    );
    CREATE TABLE IF NOT EXISTS neighbours (
        project_id BIGINT NOT NULL,
        example_id BIGINT NOT NULL,
        input_hash VARCHAR NOT NULL,
        neighbour_ids BIGINT[] NOT NULL,
        similarities FLOAT[] NOT NULL,
        PRIMARY KEY (project_id, example_id)
    );
    ALTER TABLE findings ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
    ALTER TABLE findings ADD COLUMN IF NOT EXISTS reason VARCHAR;
    ALTER TABLE findings ADD COLUMN IF NOT EXISTS decided_by VARCHAR;
    ALTER TABLE findings ADD COLUMN IF NOT EXISTS decided_at TIMESTAMP;
    ALTER TABLE projects ADD COLUMN IF NOT EXISTS coverage_targets JSON;
    """,
    # 5: sign-in and safe model loading: hashed passwords on people, models an admin trusts with remote code
    """
    ALTER TABLE people ADD COLUMN IF NOT EXISTS password_hash VARCHAR;
    CREATE TABLE IF NOT EXISTS trusted_models (
        model VARCHAR PRIMARY KEY,
        allowed_by VARCHAR NOT NULL,
        allowed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    """,
    # 6: defining a task: annotation guidelines (markdown) and a soft archive per project
    """
    ALTER TABLE projects ADD COLUMN IF NOT EXISTS guidelines VARCHAR DEFAULT '';
    ALTER TABLE projects ADD COLUMN IF NOT EXISTS archived_at TIMESTAMP;
    """,
    # 7: a test set the experts keep: an example trains ('train') or is held out for good ('test')
    """
    ALTER TABLE examples ADD COLUMN IF NOT EXISTS split VARCHAR DEFAULT 'train';
    UPDATE examples SET split = 'train' WHERE split IS NULL;
    """,
    # 8: a run's routing thresholds ({"high", "low"}), chosen on the Evaluate page and served by the Deploy page
    """
    ALTER TABLE runs ADD COLUMN IF NOT EXISTS routing JSON;
    """,
]
