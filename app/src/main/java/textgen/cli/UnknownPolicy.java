package textgen.cli;

/** What to do with characters the model's vocabulary does not have. */
enum UnknownPolicy { error, skip }
