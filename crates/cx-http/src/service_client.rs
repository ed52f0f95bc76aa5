//! `service_client!`: the struct, constructor and accessors every service
//! crate's `Client` has; `real_client_debug!`: the `Debug` of the real-API
//! clients.

/// Give a service crate's `Client` the members every service client shares:
/// `with_audit(sink)`, `config()`, `http()`, and a `Debug` that shows the
/// runtime, the settings and whether an audit sink is set (never the sink).
///
/// The client must have the fields `http: cx_http::Client`,
/// `config: Arc<Config>` and `audit: Option<Arc<Sink>>`; the doc comment
/// before `fn with_audit` documents that method (which records it writes).
///
/// ```
/// use std::sync::Arc;
///
/// pub trait Sink: Send + Sync {}
///
/// #[derive(Debug, Default)]
/// pub struct Config;
///
/// pub struct Client {
///     http: cx_http::Client,
///     config: Arc<Config>,
///     audit: Option<Arc<dyn Sink>>,
/// }
///
/// cx_http::service_client! {
///     impl Client {
///         config: Config,
///         sink: dyn Sink,
///         /// Write audit records to `sink`.
///         fn with_audit;
///     }
/// }
///
/// let http = cx_http::Client::builder().base_url("http://127.0.0.1:9").build().unwrap();
/// let client = Client { http, config: Arc::new(Config), audit: None };
/// assert!(format!("{client:?}").contains("audit: false"));
/// ```
///
/// The `struct` form also declares the client (attributes and doc comment
/// as written; the fields `http`, `config` and `audit` are `pub(crate)`)
/// with any further fields, each with the value `new` gives it, and
/// `pub fn new(http, config)` with the doc comment before `fn new`:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::AtomicU64;
///
/// pub trait Sink: Send + Sync {}
///
/// #[derive(Debug, Default)]
/// pub struct Config;
///
/// cx_http::service_client! {
///     /// The API of one tenant.
///     #[derive(Clone)]
///     pub struct Client {
///         config: Config,
///         sink: dyn Sink,
///         /// Calls so far, shared by clones.
///         calls: Arc<AtomicU64> = Arc::default(),
///     }
///     /// Write audit records to `sink`.
///     fn with_audit;
///     /// A client sending through `http`.
///     fn new;
/// }
///
/// let http = cx_http::Client::builder().base_url("http://127.0.0.1:9").build().unwrap();
/// let client = Client::new(http, Config);
/// assert!(format!("{client:?}").contains("audit: false"));
/// ```
#[macro_export]
macro_rules! service_client {
    (
        $(#[$meta:meta])*
        $vis:vis struct $client:ident {
            config: $config:ty,
            sink: $sink:ty,
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $field_ty:ty = $init:expr, )*
        }
        $(#[$with_audit:meta])*
        fn with_audit;
        $(#[$new:meta])*
        fn new;
    ) => {
        $(#[$meta])*
        $vis struct $client {
            pub(crate) http: $crate::Client,
            pub(crate) config: ::std::sync::Arc<$config>,
            audit: ::std::option::Option<::std::sync::Arc<$sink>>,
            $( $(#[$field_meta])* $field_vis $field: $field_ty, )*
        }

        impl $client {
            $(#[$new])*
            pub fn new(http: $crate::Client, config: $config) -> Self {
                Self {
                    http,
                    config: ::std::sync::Arc::new(config),
                    audit: ::std::option::Option::None,
                    $( $field: $init, )*
                }
            }
        }

        $crate::service_client! {
            impl $client {
                config: $config,
                sink: $sink,
                $(#[$with_audit])*
                fn with_audit;
            }
        }
    };
    (
        impl $client:ident {
            config: $config:ty,
            sink: $sink:ty,
            $(#[$with_audit:meta])*
            fn with_audit;
        }
    ) => {
        impl ::std::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(::std::stringify!($client))
                    .field("http", &self.http)
                    .field("config", &self.config)
                    .field("audit", &self.audit.is_some())
                    .finish_non_exhaustive()
            }
        }

        impl $client {
            $(#[$with_audit])*
            #[must_use]
            pub fn with_audit(mut self, sink: ::std::sync::Arc<$sink>) -> Self {
                self.audit = ::std::option::Option::Some(sink);
                self
            }

            /// The settings.
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// The runtime client requests go through.
            pub fn http(&self) -> &$crate::Client {
                &self.http
            }
        }
    };
}

/// `Debug` for a real-API client (the `cx_*::real::Client` kind): the type
/// named as given, the runtime's base URL and the settings, never the
/// runtime's credentials. The client must have the fields
/// `http: cx_http::Client` and `config` (a `Debug` settings struct).
///
/// ```
/// #[derive(Debug, Default)]
/// pub struct RealConfig { page_size: u32 }
///
/// pub struct Client { http: cx_http::Client, config: RealConfig }
///
/// cx_http::real_client_debug!(Client, "things::real::Client");
///
/// let http = cx_http::Client::builder().base_url("http://127.0.0.1:9").build().unwrap();
/// let client = Client { http, config: RealConfig::default() };
/// assert!(format!("{client:?}").starts_with("things::real::Client { base_url: "));
/// ```
#[macro_export]
macro_rules! real_client_debug {
    ($client:ty, $name:literal) => {
        impl ::std::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct($name)
                    .field("base_url", &self.http.base_url())
                    .field("config", &self.config)
                    .finish()
            }
        }
    };
}
