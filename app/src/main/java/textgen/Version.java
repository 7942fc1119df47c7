package textgen;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** textgen's own version, from the build. */
public final class Version {
    public static final String TEXTGEN = load();

    private Version() {
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("/textgen-version.properties")) {
            Properties p = new Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }
}
