#pragma once
// The configuration model of sosproxy and its loader.
// Plain values: every other library reads them, none of them sees YAML.
// Loaded once at start-up (and on reload) on whichever thread asks; immutable afterwards.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/yaml_place.h"

namespace sos::config {

enum class Transport { Udp, Tcp, Tls };

// How an emergency call leaves on a PSAP trunk (issue 4 gives these their behaviour).
enum class TrunkMode {
  Plain,  // relay as is (the carrier trunk for ordinary calls)
  Pidf,   // PIDF-LO by value in a multipart body
  Elin,   // the location's ELIN as From/P-Asserted-Identity
  Both,   // PIDF-LO and ELIN together
};

struct Trunk {
  std::string name;
  std::string host;  // numeric address: trunks are never resolved through DNS on the call path
  uint16_t port = 5060;
  Transport transport = Transport::Udp;
  TrunkMode mode = TrunkMode::Plain;
  // Failover on emergency routes (issue 5), far shorter than SIP Timer B's 32 s:
  int responseTimeoutMs = 2000;  // no response at all (not even 100 Trying): next trunk
  int ringTimeoutMs = 30000;     // a provisional response but no answer: CANCEL, next trunk
  // OPTIONS keep-alive probe period; 0: not probed. A trunk that does not answer its probe
  // within responseTimeoutMs (or answers 408/503) is down and skipped until it answers again.
  int optionsIntervalMs = 0;
  // A UDP trunk that also takes TCP on the same port: a request too large for one UDP datagram
  // goes there over TCP (RFC 3261 18.1.1). Without it, such an emergency INVITE is trimmed to
  // what the PSAP needs (issue 14).
  bool tcpFallback = false;
  // A TLS trunk (transport: tls): the name its certificate must carry (a DNS name of its
  // subjectAltName or its common name). Empty: the host as written. The connection still goes
  // to `host`; no DNS is asked.
  std::string tlsName;
  // options_interval_s was written out: "0" is then a decision (a PSAP that does not answer
  // OPTIONS), not an oversight, and `sosproxy lint` accepts it.
  bool optionsIntervalWritten = false;
  // Where a scheduled test call to this trunk goes (issue 21; RFC 5031 and RFC 6881 test-call
  // semantics): a test service URN ("urn:service:test.sos", the Request-URI as it is), or a
  // test number ("933": sip:933@host:port). Empty: no test call goes to this trunk. (Not
  // EmergencyRouting::testDestination, the trunk that phones' own test calls are routed to.)
  std::string testDestination;
  YamlPlace at;  // the trunk's list item
};

// A civic routing rule: a location whose address has every non-empty field of `match` (compared
// case-insensitively) is routed to `route`. The rule with the most fields set wins; of equally
// specific rules, the first in the file.
struct CivicRule {
  std::string country, a1, a2, a3, pc;  // RFC 5139 country, A1 (state), A2, A3 (city), PC
  std::vector<std::string> route;       // trunk names, in order
};

// A geodetic service boundary: a location with coordinates inside `polygon` is routed to
// `route`. Points are (latitude, longitude) in WGS 84 degrees; the polygon closes itself.
struct Boundary {
  std::string name;
  std::vector<std::pair<double, double>> polygon;  // at least 3 points
  std::vector<std::string> route;
};

// How an emergency call's route is chosen from the caller's location (issue 5). In order: the
// location's own PSAP override (location data), the most specific civic rule, the first
// boundary that contains the location's coordinates, the site's psap_route. An unknown or
// unconfirmed location goes to the ERC. Every route ends with the ERC, then the rest of the
// site's route, then the last resort (issue 14: never a failure while a trunk could take it).
struct EmergencyRouting {
  std::string erc;              // trunk of the emergency response centre; empty: none
  std::string testDestination;  // trunk for test calls (933, urn:service:test.sos); empty:
                                // test calls take the emergency route, flagged as tests
  std::vector<CivicRule> civicRules;
  std::vector<Boundary> boundaries;
  // The trunk tried after everything else of an emergency route (the ERC, the site's route): a
  // carrier that routes the dialed emergency number itself. Empty: none; a site may set its
  // own (Site::lastResort).
  std::string lastResort;
};

// Limits on ordinary calls. Emergency calls from the trusted networks are exempt from all of
// them. 0 means no limit.
struct Limits {
  int ordinaryCallsPerSecond = 0;  // new ordinary calls accepted per second (token bucket)
  int ordinaryBurst = 0;           // bucket size; 0: one second's worth
  int maxOrdinaryCalls = 0;        // ordinary calls in progress at once
  // Overload shedding: when the SIP thread falls this far behind (its event loop late by more
  // than this), or callers start retransmitting because answers come slowly, new ordinary calls
  // get 503 for the next 2 s, so that emergency calls are still served at once. 0: never.
  int overloadLagMs = 100;
  // Past capacity over UDP: INVITEs dropped in the kernel while the SIP port's receive queue is
  // long (proxy/invite_gate.h), so that calls under way keep their answers. Read at start.
  bool udpInviteGate = true;
  // On SIGTERM or SIGINT, how long calls in progress are given to end (issue 14): meanwhile new
  // ordinary calls get 503, emergency calls and PSAP callbacks are still routed. 0: stop at once.
  int drainSeconds = 30;
};

// The SIP edge (issue 14): what sources outside the trusted networks get, and the caps that
// keep a flood from costing the calls. Emergency calls from the trusted networks are never
// refused by any of them. 0 means no cap.
enum class UntrustedPolicy {
  Reject,  // a 403 sent without keeping a transaction, rate-limited per source
  Drop,    // no answer at all
};

// How ordinary calls cross sosproxy.
enum class OrdinaryRelay {
  B2bua,      // two legs with their transactions: limits, call records, the routing log's outcome
  Stateless,  // relayed as a stateless proxy (RFC 3261 16.11): no state kept per call
};

// How emergency calls cross sosproxy.
enum class EmergencyRelay {
  B2bua,     // two legs with their transactions (nta's)
  Stateful,  // relayed as a transaction-stateful proxy (RFC 3261 16) of sosproxy's own
};

struct Edge {
  UntrustedPolicy untrusted = UntrustedPolicy::Reject;
  // Stateless: ordinary calls that arrive over UDP for a UDP carrier trunk are forwarded
  // without transactions (Via, Record-Route and Max-Forwards changed, the PAI and the
  // access-network mark the source cannot vouch for removed); emergency calls, PSAP callbacks
  // and everything else keep the B2BUA.
  OrdinaryRelay ordinaryRelay = OrdinaryRelay::B2bua;
  // Stateful: an emergency call that arrives over UDP and whose every trunk takes UDP (without
  // tcp_fallback) crosses as a transaction-stateful proxy would (proxy/emergency_relay.h): the
  // same location, PIDF-LO, ELIN, failover, routing log, call record and responder events, the
  // caller's Call-ID and tags kept end to end. Everything else keeps the B2BUA.
  EmergencyRelay emergencyRelay = EmergencyRelay::B2bua;
  int untrustedRepliesPerSource = 5;    // answers per second to one source address, then dropped
  int untrustedRepliesPerSecond = 200;  // answers per second to all untrusted sources together
  int maxServerTransactions = 100000;   // beyond: new ordinary calls get 503, other requests none
  int maxTcpConnections = 4096;         // beyond: connections of the busiest peers are closed
  int tcpIdleTimeoutMs = 600000;        // a connection no transaction uses is closed after this
  int tcpMessageTimeoutMs = 10000;      // a message begun and not finished within this: closed
};

// Somebody of a site's safety team to alert when an emergency call is made (issue 6; Kari's Law).
struct Responder {
  enum class Channel { Webhook, Email, Sip };
  Channel channel = Channel::Webhook;
  std::string target;  // http://host:port/path, an e-mail address, or a SIP URI
  std::string secret;  // webhook only: HMAC-SHA256 key for the signature header
  int tier = 1;        // 1 is alerted at once; tier N+1 when tier N has not acknowledged in time
};

// Who is told when a desk phone (a report naming one of its user's MACs) reports from a network
// new for its user (issue 17): what was seen, and how to confirm where the phone is.
struct DeskPhoneMoved {
  bool user = true;        // the phone's user, by e-mail (their user record's email)
  bool approvers = false;  // the site's approvers (Site::approvers), by e-mail
  bool phone = false;      // the phone: a SIP MESSAGE (text/plain) to the address it reported from
};

// A site's scheduled test calls (issue 21): each trunk named is called with its test_destination,
// carrying the site's location as a real emergency call would, every interval.
struct SiteTestCalls {
  std::optional<int64_t> intervalSeconds;  // unset: TestCalls::intervalSeconds; 0: none
  std::vector<std::string> trunks;         // empty: the site's psap_route and the ERC
  YamlPlace at;                            // the site's test_calls
};

struct Site {
  std::string name;
  std::string country;                   // ISO 3166 alpha-2, upper case
  std::vector<std::string> dialStrings;  // e.g. "911"; with the outside-line prefix too
  std::string outsideLinePrefix;         // e.g. "9": "9911" is then an emergency call as well
  std::vector<std::string> testNumbers;  // e.g. "933"
  // Which callers belong to this site until the user store knows them (issue 3):
  // extension patterns ("1001", or a prefix ending in '*': "1*") and caller networks (CIDR).
  std::vector<std::string> extensions;
  std::vector<std::string> networks;
  std::vector<std::string> psapRoute;  // trunk names in the order they are tried
  std::string lastResort;  // this site's last resort; empty: emergency_routing.last_resort
  // Where a PSAP callback goes when no caller holds the dialed ELIN any more (issue 4):
  // "sip:security-desk@127.0.0.1:5094". Empty: the first site's desk.
  std::string securityDesk;
  std::vector<Responder> responders;  // alerted on every emergency call from the site
  // E-mail addresses told when a user submits a company location of this site for approval
  // (issue 17).
  std::vector<std::string> approvers;
  // Emergency calls the site may make at once (a fire alarm: several people dial at once). Its
  // ELINs together should be at least this many, so that every caller can be called back
  // (`sosproxy lint` checks it). 0: not checked.
  int expectedConcurrentEmergencyCalls = 2;
  // Nomadic emergency services for the site's users (issue 17): their personal addresses are
  // used for their emergency calls, and a report from a new network prompts them. Unset: the
  // account's setting (LocationSettings::nomadic).
  std::optional<bool> nomadic;
  // Who is told of a desk phone on a new network. Unset: the account's
  // (LocationSettings::deskPhoneMoved).
  std::optional<DeskPhoneMoved> deskPhoneMoved;
  // Its scheduled test calls; unset: the account's interval (TestCalls) to its default trunks.
  std::optional<SiteTestCalls> testCalls;
  YamlPlace at;           // the site's list item
  YamlPlace psapRouteAt;  // its psap_route
};

// SIP over TLS (listen.tls): Sofia's TLS transport, the certificate sosproxy shows and what it
// checks of the other side's. Paths are resolved like the store's (beside the file).
struct SipTls {
  uint16_t port = 5061;
  std::string certificate;  // PEM: sosproxy's certificate, to callers and (mutual TLS) to trunks
  std::string key;          // PEM: its private key
  std::string ca;           // PEM bundle: what trunks' and callers' certificates must chain to
  // A trunk's certificate must name it (Trunk::tlsName, else its host): on by default.
  bool verifyServerNames = true;
  // Mutual TLS toward callers: a TLS connection to sosproxy must show a certificate that
  // chains to `ca`, or it is closed.
  bool requireClientCertificates = false;
  YamlPlace at;  // listen.tls
};

struct Listen {
  // Our host name as others should see it: loc-src of the Geolocation values we insert
  // (RFC 8787 wants a host name, not an address). Empty: the listen address.
  std::string hostName;
  std::string address = "127.0.0.1";
  uint16_t port = 5060;
  std::vector<Transport> transports{Transport::Udp, Transport::Tcp};
  // Set when listen.tls is written: needed by "tls" among the transports and by TLS trunks.
  std::optional<SipTls> tls;
};

enum class LogFormat { Text, Json };

struct Logging {
  std::string level = "info";  // trace, debug, info, warn, error
  LogFormat format = LogFormat::Text;
  std::string routingLog = "-";  // path of the routing log; "-" is standard output
};

// The store (store/): an embedded SQLite file (the default, one node), or a PostgreSQL database
// several nodes share. Both paths are resolved at load: an absolute path stays as written, a
// relative one is taken from the configuration file's directory, so the same file works
// whatever directory sosproxy is started from.
enum class StoreBackend { Sqlite, Postgresql };
struct Store {
  StoreBackend backend = StoreBackend::Sqlite;
  std::string path;  // sqlite: the database file; empty: no database, data lives in memory only
  std::string postgresql;  // postgresql: libpq's connection URI (postgresql://user@host:port/db)
  std::string seed;        // YAML location data loaded into an empty store; empty: none
  // This node's name among those sharing the database (who claimed which pending alert);
  // empty: HOSTNAME:SIP-PORT, set by the proxy at start (nodeNameOr).
  std::string nodeName;
  // The file that keeps the writes the database could not take across a crash
  // (proxy/store_spool.h). Empty: PATH.spool beside a SQLite file; for PostgreSQL
  // sosproxy-SIPPORT.spool in the working directory.
  std::string spool;

  // What store::Store::open takes: the file, or the URI; "" for none (in memory only).
  const std::string& database() const {
    return backend == StoreBackend::Postgresql ? postgresql : path;
  }
};

// How the caller's location is chosen (routing::ResolverSettings is built from this).
struct LocationSettings {
  // Signal names, most trusted first. Kept as words here so config depends on base alone;
  // routing converts them. The default is the documented order (README, "The life of a call",
  // step 4).
  std::vector<std::string> precedence{"device-supplied",
                                      "bssid",
                                      "chassis-port",
                                      "chassis",
                                      "subnet",
                                      "personal-network",
                                      "personal-confirmed",
                                      "site-default",
                                      "account-default"};
  int64_t staleAfterSeconds = 86400;  // device reports older than this are ignored
  // How long the ELIN -> caller mapping of an emergency call routes a PSAP's callback to that
  // caller (issue 4); one product uses 3 hours.
  int64_t callbackWindowSeconds = int64_t{3} * 3600;
  // How long "use this address for this emergency only" (issue 17) holds an address for the
  // user, unless their device reports from another network sooner.
  int64_t temporaryHoldSeconds = int64_t{8} * 3600;
  // Nomadic emergency services for the whole account (issue 17), unless a site says otherwise
  // (Site::nomadic). Off: personal addresses are not used for 911, nobody is prompted on a new
  // network, and users cannot add personal addresses.
  bool nomadic = true;
  // Who is told of a desk phone on a new network, unless its user's site says otherwise
  // (Site::deskPhoneMoved), and the port its SIP MESSAGE goes to at the reported address.
  DeskPhoneMoved deskPhoneMoved;
  uint16_t phoneSipPort = 5060;
};

// HTTPS of the admin server (issue 20): both files set, or neither. Paths are resolved as the
// store's are (beside the configuration file); SIGHUP reads the files again.
struct AdminTls {
  std::string certFile;  // PEM: the server's certificate first, then its chain
  std::string keyFile;   // PEM: its private key
  YamlPlace at;          // admin.tls
};

// The admin HTTP server: the location-report API, health, /metrics, reload, acknowledgements,
// API tokens and the audit trail. Every /api/v1 route needs a token (admin/routes.h).
struct Admin {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  bool enabled = true;
  // Host names a request's Host header may give (an IP address and "localhost" always may):
  // a browser page of another name that resolves to us (DNS rebinding) is refused.
  std::vector<std::string> allowedHosts;
  // /metrics without a token (counters only, no personal data); false: any token.
  bool metricsPublic = true;
  // A second listener that serves the location-report API only (and /healthz), so phones can
  // reach it while the rest of the API stays on a management network. Port 0: none.
  std::string deviceAddress = "127.0.0.1";
  uint16_t devicePort = 0;
  // Where users reach the admin server ("https://sos.example.com", no trailing '/'): the link
  // to the self-service page that messages to users give (Config::selfServiceUrl). Its host, when
  // a name, is one a request's Host may give too. Empty: http://address:port.
  std::string publicUrl;
  // HTTPS on both listeners when set (issue 20). Without it a listener on an address other than
  // loopback is refused at load unless allowPlainHttp says plain HTTP there is meant.
  AdminTls tls;
  bool allowPlainHttp = false;
  bool https() const { return !tls.certFile.empty(); }
};

// How the SMTP client protects the session (issue 20): STARTTLS off, used when the relay offers
// it, or required; or TLS from the first byte (port 465, RFC 8314).
enum class SmtpTls { Off, Optional, Required, Implicit };

// Where the mail relay's password comes from: nowhere (no AUTH), written in the file, or read at
// load from an environment variable or a file.
struct SmtpAuth {
  std::string username;  // empty: no AUTH
  std::string password;  // never logged, never printed
};

// How responder alerts are delivered (issue 6). They are queued in the store's outbox and sent
// from the I/O thread; a call never waits for them. An emergency call's alert is never given up
// (issue 14): past maxAttempts it is retried every retryMaxMs until delivered.
struct Notifications {
  // A numeric address, or a name resolved on the I/O thread at each delivery (and then the name
  // the relay's certificate must carry).
  std::string smtpHost = "127.0.0.1";
  uint16_t smtpPort = 25;
  SmtpTls smtpTls = SmtpTls::Off;
  std::string smtpCaFile;  // certificates trusted for the relay; empty: the system's store
  SmtpAuth smtpAuth;
  // Certificates trusted for https:// webhooks; empty: the system's store.
  std::string webhookCaFile;
  std::string mailFrom = "sosproxy@localhost";
  int escalateAfterSeconds = 120;  // no acknowledgement by then: the next tier is alerted
  int timeoutMs = 5000;            // per delivery attempt (connect + send + answer)
  int maxAttempts = 8;             // then the job is failing (error lines, a gauge); a test call's
                                   // is given up
  int retryInitialMs = 1000;       // backoff doubles from here ...
  int retryMaxMs = 60000;          // ... up to this (at most 300 s), the cap past maxAttempts too
  // Several nodes on one database (issue 22): a node's claim on the alerts it works lasts this
  // long unless it renews it (it does, every third of it); past it, another node takes them
  // over. It is how long a dead node's pending alerts and escalations wait.
  int leaseMs = 15000;
};

// Scheduled test calls for every site (issue 21), unless a site says otherwise
// (Site::testCalls). A test call never takes capacity from an emergency call: it waits while
// sosproxy sheds ordinary calls or drains, and a trunk has one test call at a time.
struct TestCalls {
  int64_t intervalSeconds = 0;  // 0: none, except from sites that set their own
};

// One scheduled test: this site's location, to this trunk's test destination, every interval.
struct TestCallTarget {
  std::string site;
  std::string trunk;
  std::string destination;  // the trunk's test_destination
  int64_t intervalMs = 0;
};

struct Config {
  std::string sourcePath;  // the file it came from, for messages
  Listen listen;
  std::vector<std::string> trustedNetworks;  // CIDR, IPv4 or IPv6
  // Who may vouch for what (issue 14). A source in trusted_networks may place calls; only one
  // in pbx_sources may assert the caller's identity (P-Asserted-Identity), and only one in
  // network_sources may mark access-network data as network-provided. Absent: nobody.
  std::vector<std::string> pbxSources;
  std::vector<std::string> networkSources;
  std::string carrierTrunk;  // name of the trunk for ordinary calls
  std::vector<Trunk> trunks;
  std::vector<Site> sites;  // the first one is the default site
  Logging logging;
  Store store;
  LocationSettings location;
  Admin admin;
  EmergencyRouting emergencyRouting;
  Limits limits;
  Notifications notifications;
  Edge edge;
  TestCalls testCalls;

  const Trunk* findTrunk(std::string_view name) const;
  const Site* findSite(std::string_view name) const;
  // Whether nomadic emergency services are on for the users of `site`: the site's own setting,
  // else the account's (a site the configuration does not name takes the account's).
  bool nomadicServices(std::string_view site) const;
  // Who is told when a desk phone of a user of `site` reports from a new network: the site's
  // own setting, else the account's.
  const DeskPhoneMoved& deskPhoneMovedTells(std::string_view site) const;
  // The self-service page "My emergency location" as users reach it, for the messages that send
  // them there: admin.public_url + "/me", else http://admin.address:admin.port/me (of no use to
  // a phone when the admin server listens on loopback or on every address: then set
  // admin.public_url).
  std::string selfServiceUrl() const;
  // The trunks `site` places test calls to: its test_calls.trunks, else its psap_route and the
  // ERC (each once, in that order). Empty for a site the configuration does not name.
  std::vector<std::string> testCallTrunks(const Site& site) const;
  // Every scheduled test call, site by site in file order: sites with an interval above 0, to
  // the trunks of testCallTrunks() that have a test destination (loading refuses a site whose
  // trunks lack one).
  std::vector<TestCallTarget> testCallTargets() const;
};

// The host of an admin.public_url ("sos.example.com" of "https://sos.example.com:8443/x";
// brackets kept off an IPv6 address), or "" for an empty or malformed one.
std::string publicUrlHost(std::string_view url);

// Reads and validates a YAML file. On failure the Error's message has one line per problem,
// each "FILE:LINE:COLUMN: KEY: what is wrong" (line and column 1-based), code "config.invalid"
// (or "config.unreadable" when the file cannot be read).
Result<Config> loadConfig(const std::string& path);

// Same, from text already in memory; `sourceName` stands for the file name in messages, and its
// directory is the one relative store paths are resolved against.
Result<Config> parseConfig(const std::string& yamlText, const std::string& sourceName);

std::string_view toString(Transport t);
std::string_view toString(TrunkMode m);
std::string_view toString(Responder::Channel c);  // "webhook", "email", "sip"
std::string_view toString(UntrustedPolicy p);     // "reject", "drop"
std::string_view toString(EmergencyRelay r);      // "b2bua", "stateful"
std::string_view toString(OrdinaryRelay r);       // "b2bua", "stateless"
std::string_view toString(SmtpTls t);             // "off", "optional", "required", "implicit"

}  // namespace sos::config
