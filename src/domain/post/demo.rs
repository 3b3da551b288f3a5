//! Demo content for a fresh database (`SEED_DEMO_POSTS=true`): twelve posts with ids 1-12.

/// One demo post: (title, body, published_at as RFC 3339 UTC).
pub struct DemoPost {
    pub title: &'static str,
    pub body: &'static str,
    pub published_at: &'static str,
}

pub const DEMO_POSTS: [DemoPost; 12] = [
    // id 1
    DemoPost {
        title: "Session Cookies Done Right: HttpOnly, Secure, and Opaque Tokens",
        body: "A session cookie is the most boring part of a web application right up until it \
            becomes the most important one. Once a user has logged in, that small value is \
            effectively their password for as long as it lives, so it deserves the same care \
            as the credential that created it.\n\n\
            Start with the value itself. Generate at least 128 bits from a cryptographically \
            secure random number generator and encode it as an opaque string. Do not put the \
            user id, an expiry, or anything else meaningful inside it; the server should \
            look the token up in its session store and decide everything from there. Storing \
            only a hash of the token, such as its SHA-256 digest, means a leaked database \
            backup does not hand out live sessions.\n\n\
            Then set the attributes. HttpOnly keeps the cookie out of reach of JavaScript, \
            which blunts the damage of a cross-site scripting bug. Secure ensures it is only \
            sent over HTTPS. A narrow Path and no Domain attribute keep it scoped to the \
            host that issued it, and SameSite=Lax stops most cross-site requests from \
            carrying it at all.\n\n\
            Finally, manage the lifecycle. Issue a brand new token at login rather than \
            promoting an existing anonymous one, which closes the door on session fixation. \
            Give sessions both an idle timeout and an absolute lifetime, and make logout \
            delete the server-side record instead of merely asking the browser to forget the \
            cookie.",
        published_at: "2026-01-15T09:00:00Z",
    },
    // id 2
    DemoPost {
        title: "SameSite Explained: What Lax, Strict, and None Actually Do",
        body: "The SameSite cookie attribute tells the browser whether to attach a cookie to \
            requests that originate from a different site. It was introduced as a defense \
            against cross-site request forgery, and since 2020 Chrome and other \
            Chromium-based browsers have treated cookies without the attribute as Lax by \
            default, which quietly changed how a lot of applications behave.\n\n\
            Strict is the simplest rule: the cookie is only sent when the request comes from \
            the same site. That is safe, but it means a user who follows a link to your \
            application from an email or a search result arrives looking logged out. Lax \
            relaxes this for top-level navigations using safe methods such as GET, so links \
            work while cross-site form posts, fetches, and embedded iframes go without the \
            cookie. None sends the cookie in every context and is only accepted together \
            with the Secure attribute.\n\n\
            It is worth being precise about what a site is. Browsers treat two URLs as \
            same-site when they share a scheme and a registrable domain, so app.example.com \
            and api.example.com are the same site even though they are different origins. \
            SameSite therefore does nothing to separate sibling subdomains, and a \
            compromised subdomain can still send requests that carry your cookies.\n\n\
            For a JSON API that serves its own front end, Lax is usually the right default. \
            Treat it as one layer rather than the whole defense: keep state-changing \
            endpoints off GET, and check the Origin header or require a CSRF token on \
            requests that modify data.",
        published_at: "2026-02-05T09:00:00Z",
    },
    // id 3
    DemoPost {
        title: "Choosing a bcrypt Cost Factor You Can Live With",
        body: "bcrypt has one tuning knob, the cost factor, and it is logarithmic. The number \
            is the base-two logarithm of the key-expansion rounds, so going from 10 to 11 \
            doubles the work, and going from 10 to 14 makes every hash sixteen times slower. \
            That is exactly the property you want against an attacker guessing passwords \
            offline, and exactly the one that can take down your login endpoint if you pick \
            carelessly.\n\n\
            The practical way to choose is to measure. Time a hash on the hardware that will \
            actually serve production traffic and pick the highest cost that stays within \
            your latency budget, commonly somewhere around a quarter of a second. OWASP \
            suggests a minimum of 10, and many applications land on 12. Hashing is \
            CPU-bound, so run it on a blocking thread pool rather than on the async executor \
            that serves every other request.\n\n\
            Because the cost is stored inside each hash string, you can raise it over time \
            without a migration. When a user logs in successfully, compare the stored cost \
            with the current setting and, if it is lower, rehash the password they just \
            supplied and save the new hash.\n\n\
            Two sharp edges are worth knowing. bcrypt only looks at the first 72 bytes of \
            its input, so enforce a maximum length rather than letting longer passwords be \
            silently truncated. And a login handler that returns early for unknown usernames \
            leaks which accounts exist through timing; verify against a dummy hash so both \
            paths cost the same.",
        published_at: "2026-02-26T09:00:00Z",
    },
    // id 4
    DemoPost {
        title: "Building a Metered Paywall That Counts Fairly",
        body: "A metered paywall lets readers open a fixed number of articles for free each \
            period before asking them to subscribe. It is a compromise between an open site \
            and a hard paywall: casual visitors still arrive from search and social links, \
            while regular readers are nudged toward paying.\n\n\
            The first design decision is where the meter lives. A counter kept in the \
            browser, in local storage or a cookie, is trivial to reset by clearing site data \
            or opening a private window. Keeping the count on the server, tied to an \
            account, is far more robust, which is why many metered designs ask readers to \
            register for a free account before the meter starts.\n\n\
            The second decision is what counts as a read. Opening the same article twice \
            should not consume two credits, so record which posts a reader has unlocked in \
            the current period and let them revisit those for free. Listing pages and \
            excerpts should not count at all. Decide, too, whether the period is a calendar \
            month or a rolling window; calendar months are easier to explain, while rolling \
            windows avoid a wave of resets on the first of the month.\n\n\
            Finally, make the accounting atomic. Two tabs opening articles at the same \
            moment must not both squeeze in under the limit, so check the count and record \
            the unlock in a single transaction, or with a conditional insert that the \
            database can enforce. Return a clear status in the API, such as the number of \
            free reads remaining, so the front end can warn readers before they hit the \
            wall.",
        published_at: "2026-03-19T09:00:00Z",
    },
    // id 5
    DemoPost {
        title: "SQLite in WAL Mode: Concurrency for the Rest of Us",
        body: "By default SQLite uses a rollback journal: before changing a page it copies the \
            original into a separate journal file, and readers are locked out while a write \
            commits. Switching to write-ahead logging with PRAGMA journal_mode=WAL flips the \
            arrangement. Changes are appended to a separate -wal file, and readers keep \
            seeing a consistent snapshot of the database while a writer works.\n\n\
            The practical result is that readers no longer block the writer and the writer \
            no longer blocks readers, which is a large improvement for a web application \
            serving many concurrent requests. What WAL does not change is that there is \
            still only one writer at a time. Concurrent write transactions queue up, so set \
            a busy timeout to let them wait briefly instead of failing immediately with \
            SQLITE_BUSY.\n\n\
            The WAL file grows until a checkpoint copies its pages back into the main \
            database. SQLite runs checkpoints automatically once the log reaches about a \
            thousand pages, but a reader that holds a snapshot open for a long time can keep \
            the log from being reset, so keep read transactions short.\n\n\
            A few more details are worth knowing. WAL mode is persistent, so setting it once \
            on a database file is enough. Pairing it with synchronous=NORMAL is a popular \
            trade-off: the database stays consistent, but the most recent transactions may \
            be rolled back after a power loss. And because WAL relies on shared memory, \
            every process using the database must be on the same host, which rules out \
            network file systems.",
        published_at: "2026-04-09T09:00:00Z",
    },
    // id 6
    DemoPost {
        title: "PostgreSQL Isolation Levels and the Lost Update",
        body: "PostgreSQL's default isolation level is Read Committed. Each statement sees the \
            data committed before that statement began, which is intuitive and cheap, but it \
            means two statements in the same transaction can see different worlds. Read \
            Uncommitted is accepted as a name but behaves exactly like Read Committed; \
            PostgreSQL never shows you dirty reads.\n\n\
            The classic trap at this level is the lost update. Two requests read a counter, \
            both compute the value plus one in application code, and both write it back, so \
            one increment disappears. The fix is usually not a stricter isolation level but \
            a better statement. UPDATE counters SET n = n + 1 reads and writes the row \
            atomically, INSERT ... ON CONFLICT handles the first-use case, and SELECT ... \
            FOR UPDATE locks a row you need to inspect before changing it.\n\n\
            Repeatable Read gives the whole transaction a single snapshot, taken at its \
            first statement, which is useful for reports that must be internally consistent. \
            If a transaction at this level tries to update a row that another transaction \
            changed after the snapshot was taken, PostgreSQL aborts it with a serialization \
            failure rather than silently overwriting the change.\n\n\
            Serializable goes further, using serializable snapshot isolation to detect \
            patterns of reads and writes that could not have happened in any serial order. \
            It catches anomalies such as write skew, where two transactions each check a \
            condition and then make changes that together break it. The price is that any \
            transaction may fail with SQLSTATE 40001, so code that uses it must be ready to \
            retry the whole transaction from the beginning.",
        published_at: "2026-05-07T09:00:00Z",
    },
    // id 7
    DemoPost {
        title: "CORS with Credentials: Why the Wildcard Stops Working",
        body: "Cross-Origin Resource Sharing lets a server tell browsers which other origins \
            may read its responses. For public, cookie-free APIs the answer is often \
            Access-Control-Allow-Origin: *. The moment a front end on another origin needs \
            to send cookies, that wildcard stops working.\n\n\
            A credentialed request is one made with fetch and credentials: 'include', or \
            with withCredentials set on an XMLHttpRequest. For the browser to expose the \
            response, the server must reply with the exact requesting origin in \
            Access-Control-Allow-Origin and with Access-Control-Allow-Credentials: true. The \
            wildcard is rejected in this mode, and a wildcard in the allowed headers or \
            methods is treated as a literal name rather than matching everything.\n\n\
            That pushes you toward echoing the Origin header, and this is where mistakes \
            happen. Compare it against an explicit allowlist of full origins, scheme and \
            port included, rather than using substring or suffix checks that an \
            attacker-controlled domain can satisfy. Add Vary: Origin to these responses so \
            that caches do not serve one origin's headers to another.\n\n\
            Remember the preflight, too. A POST with Content-Type: application/json is not a \
            simple request, so the browser first sends an OPTIONS request and only proceeds \
            if the response allows the method and headers. Finally, keep in mind that CORS \
            controls which pages may read responses, not which requests reach your server. \
            It is not a substitute for CSRF protection, and a cookie that SameSite withholds \
            will not be sent whatever your CORS headers say.",
        published_at: "2026-06-04T09:00:00Z",
    },
    // id 8
    DemoPost {
        title: "Rate Limiting Logins Without Locking Out Your Users",
        body: "A login endpoint is an open invitation to guess passwords, and bcrypt alone does \
            not close it. A slow hash limits how fast an attacker can test guesses against a \
            stolen database, but against your live endpoint the attacker simply sends more \
            requests, and each one costs you far more CPU than it costs them.\n\n\
            Effective limits work on more than one key. A per-IP limit stops a single noisy \
            client, but credential stuffing campaigns spread their attempts across thousands \
            of addresses. A per-account limit catches slow guessing against one user, though \
            it can also be abused to lock a victim out. Combining the two, with a global \
            ceiling on failed attempts as a backstop, covers far more ground than either \
            alone.\n\n\
            Prefer slowing down to shutting out. Hard lockouts after a handful of failures \
            turn your security control into a denial-of-service tool. Increasing delays, \
            temporary blocks measured in minutes, or a challenge step after repeated \
            failures protect accounts without letting an attacker disable them at will.\n\n\
            Respond with 429 Too Many Requests and a Retry-After header so well-behaved \
            clients know when to try again, and use the same generic error message for an \
            unknown user and a wrong password. If you run more than one instance, count \
            attempts in a shared store rather than in process memory, or an attacker gets a \
            fresh allowance from every replica behind the load balancer. And log the events, \
            because a sudden spike in failures is often the first sign of an attack.",
        published_at: "2026-07-02T09:00:00Z",
    },
    // id 9
    DemoPost {
        title: "Treating Your OpenAPI Document as a Contract",
        body: "An OpenAPI document describes an HTTP API in a machine-readable form: its paths, \
            parameters, request bodies, responses, and the schemas behind them. It is often \
            produced as an afterthought to feed a documentation page, but it is far more \
            useful when treated as a contract that the server, its clients, and the tests \
            all agree to honor.\n\n\
            Treating it as a contract means the document and the implementation must not \
            drift apart. Some teams write the document first and generate server stubs and \
            client code from it; others derive it from annotations on the handlers. Either \
            approach can work, as long as something in continuous integration fails when the \
            two disagree, for example a test suite that sends real requests and validates \
            every response against the schema.\n\n\
            Contracts are most valuable at the edges people forget. Document the error \
            responses, not just the happy path, and give them one consistent shape so \
            clients can handle a 400, a 401, and a 429 with the same code. Describe \
            authentication explicitly, including which endpoints require a session cookie, \
            and state limits such as maximum lengths and page sizes in the schema rather \
            than in prose.\n\n\
            Finally, version with care. Adding an optional response field is usually safe; \
            removing or renaming a field, or making an optional input required, will break \
            someone. Diffing the document between releases makes breaking changes visible in \
            review, before they reach clients. And since OpenAPI 3.1 aligned its schema \
            dialect with JSON Schema, the same schemas can often be checked by standard \
            validators.",
        published_at: "2026-07-30T09:00:00Z",
    },
    // id 10
    DemoPost {
        title: "Graceful Shutdown: Finishing What You Started",
        body: "Every deployment ends the life of a process, and how it ends matters. If a \
            server exits the instant it receives a signal, requests in flight are cut off, \
            clients see connection resets, and a user who was halfway through a purchase \
            cannot tell whether it went through.\n\n\
            Graceful shutdown follows a simple sequence. When the process receives SIGTERM, \
            which is what container orchestrators and service managers send first, it stops \
            accepting new connections, lets requests that have already started run to \
            completion, closes idle keep-alive connections, and then releases resources such \
            as database pools before exiting.\n\n\
            The sequence needs a deadline. A stuck request must not hold the process \
            hostage, so give draining a fixed budget and exit when it runs out. Keep that \
            budget shorter than the platform's own grace period; Kubernetes, for example, \
            waits thirty seconds by default before sending SIGKILL, and nothing you planned \
            to do after that point will run.\n\n\
            In a load-balanced setup there is a subtle race: the balancer may keep routing \
            new requests to an instance for a moment after shutdown begins. A common remedy \
            is to fail the readiness check first, wait briefly for the balancer to notice, \
            and only then stop the listener. Test the whole path by sending a steady stream \
            of requests during a rolling deploy and checking that none of them fail.",
        published_at: "2026-08-27T09:00:00Z",
    },
    // id 11
    DemoPost {
        title: "Observability Without Leaking Secrets",
        body: "Logs, traces, and metrics are how you find out what your service is doing, and \
            they are also one of the most common places for secrets to leak. Log pipelines \
            are shipped to third-party vendors, retained for months, and readable by far \
            more people than the production database.\n\n\
            The usual culprits are predictable. Request logging that dumps every header \
            records Authorization values and Cookie headers, which are live credentials. \
            Debug output of a login request includes the password. Database errors can echo \
            the values that violated a constraint. Tracing instrumentation that records \
            function arguments by default will happily capture a password or token passed to \
            a handler.\n\n\
            The most robust defense is to make secrets hard to print. Wrap passwords, \
            session tokens, and API keys in a type whose Debug output is a placeholder such \
            as [REDACTED] and which does not implement Display at all, so an accidental \
            format call produces nothing useful. In Rust, the instrument attribute from the \
            tracing crate accepts a skip list for exactly this reason, and crates such as \
            secrecy provide ready-made wrapper types.\n\n\
            Beyond that, prefer allowlists to denylists: log the fields you know are safe, \
            such as method, route, status, and latency, rather than everything minus the \
            fields you remembered to strip. To correlate the events of one session, log a \
            request id or a short non-reversible fingerprint instead of the token. And treat \
            the rare leak as an incident: rotate the exposed credential rather than just \
            deleting the log line.",
        published_at: "2026-09-24T09:00:00Z",
    },
    // id 12
    DemoPost {
        title: "Scaling Out Stateless Instances",
        body: "Scaling up means buying a bigger machine; scaling out means running more copies \
            of the same service behind a load balancer. Scaling out also gives you \
            redundancy and zero-downtime deploys, but only if any instance can handle any \
            request, which means the instances must be stateless.\n\n\
            Stateless does not mean the application has no state; it means the state lives \
            somewhere shared. Sessions stored in process memory vanish on restart and are \
            invisible to other replicas, forcing sticky sessions that undermine the \
            balancing you wanted. Keep sessions, rate-limit counters, and paywall meters in \
            the database or a shared cache so every instance sees the same truth.\n\n\
            The shared store then becomes the constraint. An embedded database such as \
            SQLite is an excellent fit for a single instance but cannot be shared safely \
            across hosts, so scaling out usually means moving to a server database such as \
            PostgreSQL. Watch connection counts as you add replicas: ten instances with \
            pools of twenty connections each need two hundred connections, while PostgreSQL \
            allows one hundred by default.\n\n\
            A few other habits make replicas interchangeable. Take configuration from \
            environment variables rather than local files. Run schema migrations once, as a \
            deployment step or under a lock, rather than letting every instance race to \
            apply them at startup. Make background jobs safe to run on several instances at \
            once. And make sure each replica shuts down gracefully, because in a scaled-out \
            system some instance is always being replaced.",
        published_at: "2026-11-01T09:00:00Z",
    },
];
