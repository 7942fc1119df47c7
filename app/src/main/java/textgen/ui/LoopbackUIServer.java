package textgen.ui;

import io.vertx.core.AsyncResult;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.SocketAddress;
import org.deeplearning4j.ui.VertxUIServer;
import textgen.TextgenException;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.BindException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * DL4J's UI server (deeplearning4j-vertx 1.0.0-M2.1), listening on 127.0.0.1 only and on the port given here.
 *
 * <p>{@link VertxUIServer#start(Promise)} calls {@code vertx.createHttpServer().requestHandler(r).listen(port, handler)},
 * which in Vert.x 3.9 binds every interface (0.0.0.0), and takes the port from a static field or the system property
 * {@code org.deeplearning4j.ui.port}. Copying the class would not do: DL4J's page modules ({@code TrainModule}) reach
 * their server through the static {@code VertxUIServer.getInstance()}, which the superclass constructor points at this
 * object. So this subclass keeps DL4J's code and hands {@code start} a {@link Vertx} whose HTTP servers, whichever
 * {@code listen} variant is called, listen on {@value #HOST}:{@code port}.
 */
final class LoopbackUIServer extends VertxUIServer {
    static final String HOST = "127.0.0.1";

    private final int port;
    private Vertx owner; // the Vert.x instance this server runs in, and only it
    private long startedFrom, startedUntil; // when start() ran: VertxUIServer names an upload directory after the time

    private LoopbackUIServer(int port) {
        this.port = port;
    }

    /**
     * A running server on {@value #HOST}:{@code port} (0: any free port). A port in use is a usage error, any other
     * failure a runtime error; either way nothing is left running.
     */
    static LoopbackUIServer start(int port) {
        LoopbackUIServer server = new LoopbackUIServer(port);
        // one event loop serves a browser or two; the overview's data takes seconds to compute for a long run on a busy
        // machine, which Vert.x would report on stderr as a blocked event loop after 2 s
        server.owner = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1)
                .setMaxEventLoopExecuteTime(20).setMaxEventLoopExecuteTimeUnit(TimeUnit.SECONDS)
                .setWarningExceptionTime(20).setWarningExceptionTimeUnit(TimeUnit.SECONDS));
        CompletableFuture<String> deployed = new CompletableFuture<>();
        server.owner.deployVerticle(server, r -> {
            if (r.succeeded()) deployed.complete(r.result());
            else deployed.completeExceptionally(r.cause());
        });
        try {
            deployed.get(60, TimeUnit.SECONDS);
            return server;
        } catch (ExecutionException | TimeoutException | InterruptedException e) {
            server.stopQuietly();
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            for (Throwable t = cause; t != null; t = t.getCause()) {
                if (t instanceof BindException) {
                    throw TextgenException.usage("--ui-port " + port + ": " + HOST + ":" + port + " is in use (" + t.getMessage()
                            + "); choose another port with --ui-port", t);
                }
            }
            throw TextgenException.runtime("the training UI could not start on " + HOST + ":" + port + ": " + cause, cause);
        }
    }

    @Override
    public void start(Promise<Void> startCallback) throws Exception {
        vertx = loopback(vertx); // AbstractVerticle's field, which VertxUIServer.start uses
        startedFrom = System.currentTimeMillis();
        try {
            super.start(startCallback);
        } finally {
            startedUntil = System.currentTimeMillis();
        }
    }

    /** Stops the server and its Vert.x threads, and removes the (empty) upload directory VertxUIServer made. */
    void stopQuietly() {
        if (VertxUIServer.getInstance() == this && vertx != null) {
            try {
                VertxUIServer.stopInstance(); // closes the Vert.x instance and clears DL4J's static fields
            } catch (Exception e) {
                if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            }
        }
        CompletableFuture<Void> closed = new CompletableFuture<>();
        owner.close(r -> closed.complete(null)); // at once when stopInstance closed it already
        try {
            closed.get(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // nothing more to do: the JVM exits after training anyway
        }
        File tmp = new File(System.getProperty("java.io.tmpdir"));
        for (long t = startedFrom; startedFrom > 0 && t <= startedUntil; t++) {
            File uploads = new File(tmp, "DL4JUI_" + t);
            if (uploads.isDirectory()) uploads.delete(); // only when empty
        }
    }

    /** {@code real}, except that its HTTP servers listen on {@value #HOST}:{@link #port}. */
    private Vertx loopback(Vertx real) {
        return (Vertx) Proxy.newProxyInstance(Vertx.class.getClassLoader(), new Class<?>[]{Vertx.class}, (proxy, m, args) -> {
            Object r = call(real, m, args);
            return r instanceof HttpServer s && m.getName().equals("createHttpServer") ? loopback(s) : r;
        });
    }

    @SuppressWarnings("unchecked")
    private HttpServer loopback(HttpServer real) {
        return (HttpServer) Proxy.newProxyInstance(HttpServer.class.getClassLoader(), new Class<?>[]{HttpServer.class}, (proxy, m, args) -> {
            if (m.getName().equals("listen")) {
                Handler<AsyncResult<HttpServer>> handler = null;
                for (Object a : args == null ? new Object[0] : args) {
                    if (a instanceof Handler<?> h) handler = (Handler<AsyncResult<HttpServer>>) h;
                }
                real.listen(SocketAddress.inetSocketAddress(port, HOST), handler);
                return proxy;
            }
            Object r = call(real, m, args);
            return r == real ? proxy : r; // fluent calls keep going through the proxy
        });
    }

    private static Object call(Object target, Method m, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
