package textgen.corpus;

/** What to do with text the model's vocabulary does not have (a character, or a word outside a word vocabulary). */
public enum UnknownPolicy {
    /** Refuse, naming what is unknown. */
    error,
    /** Drop it. */
    skip,
    /** Read it as the {@code <unk>} token (word vocabularies only). */
    unk
}
