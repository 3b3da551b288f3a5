//! The PostgreSQL connection: Diesel's queries over a pure-Rust driver
//! (`tokio-postgres`, through `diesel-async`'s `AsyncPgConnection`), with
//! TLS from rustls, instead of Diesel's own `PgConnection` over libpq.
//! libpq and the OpenSSL it needs would be built from source on every
//! clean build (OpenSSL alone took 148 s of a 207 s debug build when
//! measured; docs/deployment.md, "Build times"), and OpenSSL's exit
//! handlers race a pool's threads in a process that exits.
//!
//! The rest of tollgate sees an ordinary synchronous Diesel connection:
//! [`PgConn`] holds `diesel-async`'s [`AsyncPgConnection`] and runs each
//! query to completion on a single-threaded tokio runtime owned by the
//! connection. The connection's socket task lives on that runtime too, so a
//! query never leaves the thread that runs it (the blocking pool's, as for
//! SQLite): the async workers are never blocked, and no thread hand-off is
//! added per query.
//!
//! `PgConn` makes the async connection a synchronous one itself, rather
//! than through `diesel-async`'s wrapper, for three things the wrapper
//! lacks: the runtime the socket task was spawned on is handed to the
//! connection (the wrapper builds its runtime from nothing), PostgreSQL's
//! type lookup is carried through the multi-backend bind collector (see
//! `NoCustomTypes`), and a statement that finds the connection dead leaves
//! a mark on the connection itself ([`PgConn::lost`]), for the pool.

use std::sync::Arc;

use diesel::connection::{
    CacheSize, Connection, ConnectionSealed, Instrumentation, LoadConnection,
    MultiConnectionHelper, SimpleConnection, TransactionManager, TransactionManagerStatus,
};
use diesel::expression::QueryMetadata;
use diesel::pg::{Pg, PgMetadataLookup, PgTypeMetadata};
use diesel::query_builder::{Query, QueryFragment, QueryId};
use diesel::{ConnectionError, ConnectionResult, QueryResult};
use diesel_async::{
    AsyncConnection, AsyncConnectionCore, AsyncPgConnection, SimpleAsyncConnection,
};
use futures_util::StreamExt;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A PostgreSQL connection, used like any synchronous Diesel connection
/// (on the blocking pool, never on an async worker).
pub struct PgConn {
    /// Boxed: the driver's state is large, and a `DbConnection` moves around.
    conn: Box<AsyncPgConnection>,
    runtime: Runtime,
    /// A statement found the connection dead (see [`PgConn::lost`]).
    lost: bool,
}

impl PgConn {
    /// Connects to `database_url` (a libpq-style URL; see `Tls` for the
    /// `sslmode` values understood).
    pub fn open(database_url: &str) -> ConnectionResult<PgConn> {
        let (config, tls) = parse(database_url)?;
        let runtime = Runtime::new();
        let inner = runtime.block_on(async {
            // With its causes: "error performing TLS handshake" alone does
            // not say that the certificate was refused, or why.
            let failed = |e: tokio_postgres::Error| {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                ConnectionError::BadConnection(message)
            };
            match tls {
                None => {
                    let (client, connection) = config
                        .connect(tokio_postgres::NoTls)
                        .await
                        .map_err(failed)?;
                    AsyncPgConnection::try_from_client_and_connection(client, connection).await
                }
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await.map_err(failed)?;
                    AsyncPgConnection::try_from_client_and_connection(client, connection).await
                }
            }
        })?;
        Ok(PgConn {
            conn: Box::new(inner),
            runtime,
            lost: false,
        })
    }

    /// Whether a statement since the connection opened found it dead: the
    /// server gone, or ending the session. The pool then replaces it, and
    /// work that is safe to repeat runs again on another
    /// (`engine::error::is_connection_lost`).
    pub fn lost(&self) -> bool {
        self.lost
    }

    /// Runs the future `f` makes on this connection's driver, to
    /// completion, on this thread. Queries made through `&AsyncPgConnection`
    /// may run concurrently: tokio-postgres writes every request its
    /// futures have made before it reads an answer, so independent
    /// statements share one round trip (pipelining). PostgreSQL still runs
    /// them one after another, each in its own implicit transaction.
    pub fn pipelined<'a, F, Fut>(&'a mut self, f: F) -> Fut::Output
    where
        F: FnOnce(&'a AsyncPgConnection) -> Fut,
        Fut: std::future::Future,
    {
        let conn: &'a AsyncPgConnection = &self.conn;
        self.runtime.block_on(f(conn))
    }
}

/// A connection's own single-threaded tokio runtime. It drives the
/// connection's socket only while a query is being waited for, on the
/// thread that waits, which is what a blocking driver does too.
pub struct Runtime(Owned);

struct Owned(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn new() -> Runtime {
        Runtime(Owned(Some(
            tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .expect("a single-threaded tokio runtime can always be built"),
        )))
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.0 .0.as_ref().expect("only a dropped runtime has none")
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // A connection dropped inside an async task (the tests' own) may
        // not wait for its runtime to wind down; it has nothing left to
        // wait for anyway once the connection is gone.
        if tokio::runtime::Handle::try_current().is_ok() {
            if let Some(runtime) = self.0.take() {
                runtime.shutdown_background();
            }
        }
    }
}

impl Runtime {
    /// Runs `f` to completion on this thread, driving the connection's
    /// socket meanwhile.
    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        use tokio::runtime::{Handle, RuntimeFlavor};
        // tollgate queries on blocking threads, where this is a plain
        // wait. Code already inside a multi-threaded runtime's task (the
        // tests' own checks of the database) steps out of it first, as
        // tokio requires; a single-threaded runtime's task cannot, and
        // tokio refuses with a panic naming the mistake.
        match Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| self.runtime().block_on(f))
            }
            _ => self.runtime().block_on(f),
        }
    }
}

/// How `sslmode` (and `sslrootcert`) in the URL are honoured, as libpq
/// does: `disable` is plain text; `allow`, `prefer` (the default) and
/// `require` encrypt without checking who answers (libpq's meaning of
/// them; `require` refuses a server without TLS); `verify-ca` also checks
/// the certificate chain, and `verify-full` the host name as well, against
/// `sslrootcert` (a PEM file) or, without it, the Mozilla roots.
type Tls = Option<tokio_postgres_rustls::MakeRustlsConnect>;

fn parse(database_url: &str) -> ConnectionResult<(tokio_postgres::Config, Tls)> {
    let bad = |what: String| ConnectionError::InvalidConnectionUrl(what);
    let mut url = url::Url::parse(database_url).map_err(|e| bad(e.to_string()))?;
    let mut mode = String::from("prefer");
    let mut root_cert = None;
    let rest: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(key, value)| match &*key {
            "sslmode" => {
                mode = value.into_owned();
                None
            }
            "sslrootcert" => {
                root_cert = Some(value.into_owned());
                None
            }
            _ => Some((key.into_owned(), value.into_owned())),
        })
        .collect();
    url.set_query(None);
    if !rest.is_empty() {
        url.query_pairs_mut().extend_pairs(&rest);
    }
    let mut config: tokio_postgres::Config = url
        .as_str()
        .parse()
        .map_err(|e: tokio_postgres::Error| bad(e.to_string()))?;
    use tokio_postgres::config::SslMode;
    let (ssl_mode, verify) = match mode.as_str() {
        "disable" => (SslMode::Disable, None),
        "allow" | "prefer" => (SslMode::Prefer, None),
        // libpq: `require` with a root certificate means `verify-ca`.
        "require" if root_cert.is_some() => (SslMode::Require, Some(Verify::Chain)),
        "require" => (SslMode::Require, None),
        "verify-ca" => (SslMode::Require, Some(Verify::Chain)),
        "verify-full" => (SslMode::Require, Some(Verify::Full)),
        other => return Err(bad(format!("invalid sslmode {other:?}"))),
    };
    config.ssl_mode(ssl_mode);
    if ssl_mode == SslMode::Disable {
        return Ok((config, None));
    }
    let tls = client_config(verify, root_cert.as_deref()).map_err(bad)?;
    Ok((
        config,
        Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
    ))
}

#[derive(Clone, Copy)]
enum Verify {
    /// The chain up to a trusted root, whatever name the server has.
    Chain,
    /// The chain and the host name.
    Full,
}

fn client_config(
    verify: Option<Verify>,
    root_cert: Option<&str>,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let algorithms = provider.signature_verification_algorithms;
    let Some(verify) = verify else {
        let unchecked = Arc::new(Relaxed {
            algorithms,
            chain: None,
        });
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(unchecked)
            .with_no_client_auth());
    };
    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path:?}: {e}"))?;
            for cert in
                rustls_pemfile_certs(&pem).map_err(|e| format!("sslrootcert {path:?}: {e}"))?
            {
                roots
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path:?}: {e}"))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| e.to_string())?;
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(match verify {
            Verify::Full => webpki,
            Verify::Chain => Arc::new(Relaxed {
                algorithms,
                chain: Some(webpki),
            }),
        });
    Ok(config.with_no_client_auth())
}

fn rustls_pemfile_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The certificate checks libpq's weaker sslmodes leave out:
/// `sslmode=require` checks no certificate (`chain: None`), `verify-ca`
/// checks the chain but not the name. The link is encrypted either way,
/// and the handshake's signatures are still checked, so the session key is
/// the server's.
#[derive(Debug)]
struct Relaxed {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::{CertificateError, Error};
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

// What follows makes `PgConn` a Diesel connection: each call is the async
// connection's, waited for on the connection's runtime.

impl ConnectionSealed for PgConn {}

impl SimpleConnection for PgConn {
    fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        let f = SimpleAsyncConnection::batch_execute(&mut *self.conn, query);
        // The future borrows the connection; the wait notes into `lost`.
        let answer = self.runtime.block_on(f);
        self.noted(answer)
    }
}

impl PgConn {
    /// `answer`, with a lost connection noted: for what a future run by
    /// [`PgConn::pipelined`] answered.
    pub fn noted<T>(&mut self, answer: QueryResult<T>) -> QueryResult<T> {
        if let Err(e) = &answer {
            self.lost |= super::error::is_connection_lost(e);
        }
        answer
    }
}

impl Connection for PgConn {
    type Backend = Pg;
    type TransactionManager = Transactions;

    fn establish(database_url: &str) -> ConnectionResult<PgConn> {
        PgConn::open(database_url)
    }

    fn execute_returning_count<T>(&mut self, source: &T) -> QueryResult<usize>
    where
        T: QueryFragment<Pg> + QueryId,
    {
        let f = AsyncConnectionCore::execute_returning_count(&mut *self.conn, source);
        let answer = self.runtime.block_on(f);
        self.noted(answer)
    }

    fn transaction_state(
        &mut self,
    ) -> &mut <Transactions as TransactionManager<PgConn>>::TransactionStateData {
        AsyncConnection::transaction_state(&mut *self.conn)
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        AsyncConnection::instrumentation(&mut *self.conn)
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        AsyncConnection::set_instrumentation(&mut *self.conn, instrumentation)
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        AsyncConnection::set_prepared_statement_cache_size(&mut *self.conn, size)
    }
}

/// The rows of a query, each waited for in turn on the connection's
/// runtime; a lost connection met on the way is noted on the connection.
pub struct Rows<'conn, 'query> {
    stream: std::pin::Pin<Box<<AsyncPgConnection as AsyncConnectionCore>::Stream<'conn, 'query>>>,
    runtime: &'conn Runtime,
    lost: &'conn mut bool,
}

impl<'conn, 'query> Iterator for Rows<'conn, 'query> {
    type Item = QueryResult<<AsyncPgConnection as AsyncConnectionCore>::Row<'conn, 'query>>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.runtime.block_on(self.stream.next());
        if let Some(Err(e)) = &row {
            *self.lost |= super::error::is_connection_lost(e);
        }
        row
    }
}

impl LoadConnection for PgConn {
    type Cursor<'conn, 'query> = Rows<'conn, 'query>;
    type Row<'conn, 'query> = <AsyncPgConnection as AsyncConnectionCore>::Row<'conn, 'query>;

    fn load<'conn, 'query, T>(
        &'conn mut self,
        source: T,
    ) -> QueryResult<Self::Cursor<'conn, 'query>>
    where
        T: Query + QueryFragment<Pg> + QueryId + 'query,
        Pg: QueryMetadata<T::SqlType>,
    {
        let PgConn {
            conn,
            runtime,
            lost,
        } = self;
        match runtime.block_on(AsyncConnectionCore::load(&mut **conn, source)) {
            Ok(stream) => Ok(Rows {
                stream: Box::pin(stream),
                runtime,
                lost,
            }),
            Err(e) => {
                *lost |= super::error::is_connection_lost(&e);
                Err(e)
            }
        }
    }
}

/// The async connection's transaction manager, for `PgConn`: each step
/// waited for, a lost connection noted.
pub struct Transactions;

type AsyncTransactions = <AsyncPgConnection as AsyncConnection>::TransactionManager;

impl TransactionManager<PgConn> for Transactions {
    type TransactionStateData = <AsyncTransactions as diesel_async::TransactionManager<
        AsyncPgConnection,
    >>::TransactionStateData;

    fn begin_transaction(conn: &mut PgConn) -> QueryResult<()> {
        let f = <AsyncTransactions as diesel_async::TransactionManager<_>>::begin_transaction(
            &mut *conn.conn,
        );
        let answer = conn.runtime.block_on(f);
        conn.noted(answer)
    }

    fn rollback_transaction(conn: &mut PgConn) -> QueryResult<()> {
        let f = <AsyncTransactions as diesel_async::TransactionManager<_>>::rollback_transaction(
            &mut *conn.conn,
        );
        let answer = conn.runtime.block_on(f);
        conn.noted(answer)
    }

    fn commit_transaction(conn: &mut PgConn) -> QueryResult<()> {
        let f = <AsyncTransactions as diesel_async::TransactionManager<_>>::commit_transaction(
            &mut *conn.conn,
        );
        let answer = conn.runtime.block_on(f);
        conn.noted(answer)
    }

    fn transaction_manager_status_mut(conn: &mut PgConn) -> &mut TransactionManagerStatus {
        <AsyncTransactions as diesel_async::TransactionManager<_>>::transaction_manager_status_mut(
            &mut *conn.conn,
        )
    }

    fn is_broken_transaction_manager(conn: &mut PgConn) -> bool {
        <AsyncTransactions as diesel_async::TransactionManager<_>>::is_broken_transaction_manager(
            &mut *conn.conn,
        )
    }
}

impl diesel::r2d2::R2D2Connection for PgConn {
    fn ping(&mut self) -> QueryResult<()> {
        self.batch_execute("SELECT 1")
    }

    fn is_broken(&mut self) -> bool {
        self.lost || Transactions::is_broken_transaction_manager(self)
    }
}

impl diesel::migration::MigrationConnection for PgConn {
    fn setup(&mut self) -> QueryResult<usize> {
        self.batch_execute(diesel::migration::CREATE_MIGRATIONS_TABLE)
            .map(|()| 0)
    }
}

/// PostgreSQL's type lookup, as the multi-backend bind collector carries it.
///
/// The lookup finds the OIDs of user-defined types. `diesel-async`'s own
/// lookup cannot be carried through `MultiConnection` (it has no `as_any`,
/// which the derive needs), but tollgate's schema uses only PostgreSQL's
/// built-in types, whose OIDs are constants that never consult a lookup.
/// So the lookup handed on is this one, which fails a query that would need
/// a user-defined type with an error, never a panic or a wrong OID.
struct NoCustomTypes;

impl PgMetadataLookup for NoCustomTypes {
    fn lookup_type(&mut self, type_name: &str, schema: Option<&str>) -> PgTypeMetadata {
        let key = diesel::pg::PgMetadataCacheKey::new(
            schema.map(|s| s.to_owned().into()),
            type_name.to_owned().into(),
        );
        let error = diesel::pg::FailedToLookupTypeError::new(key);
        PgTypeMetadata::from_result(Err(error))
    }

    fn as_any<'a>(&mut self) -> &mut (dyn std::any::Any + 'a)
    where
        Self: 'a,
    {
        self
    }
}

impl MultiConnectionHelper for PgConn {
    fn to_any<'a>(
        _lookup: &mut <Pg as diesel::sql_types::TypeMetadata>::MetadataLookup,
    ) -> &mut (dyn std::any::Any + 'a) {
        // A zero-sized value: leaking it allocates nothing.
        Box::leak(Box::new(NoCustomTypes))
    }

    fn from_any(
        lookup: &mut dyn std::any::Any,
    ) -> Option<&mut <Pg as diesel::sql_types::TypeMetadata>::MetadataLookup> {
        lookup
            .downcast_mut::<NoCustomTypes>()
            .map(|l| l as &mut (dyn PgMetadataLookup + 'static))
    }
}
