#pragma once
// Locations and the network data that points at them (issue 3). Plain values, no I/O:
// store/ reads them from SQLite and the seed file, routing/ indexes them, pidf/ turns a Location
// into PIDF-LO and reads a device's civic address back into a CivicAddress.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sos::model {

// RFC 5139 civic address. Empty fields are absent. Members are declared in the order of the
// schema's sequence (country, A1..A6, PRM, PRD, RD, STS, POD, POM, RDSEC, RDBR, RDSUBBR, HNO,
// HNS, LMK, LOC, FLR, NAM, PC, BLD, UNIT, ROOM, SEAT, PLC, PCN, POBOX, ADDCODE).
struct CivicAddress {
  std::string country, a1, a2, a3, a4, a5, a6;
  std::string prm, prd, rd, sts, pod, pom, rdsec, rdbr, rdsubbr;
  std::string hno, hns, lmk, loc, flr, nam, pc, bld, unit, room, seat, plc, pcn, pobox, addcode;

  // One line for people and logs: "100 Main St, FLR 2, ROOM 301, Springfield, IL 62701, US".
  std::string oneLine() const;
  bool operator==(const CivicAddress&) const = default;
};

enum class LocationKind {
  Company,         // a place of the enterprise (floor, room, office)
  Personal,        // a user's own address (home), confirmed or not
  SiteDefault,     // the site's fallback
  AccountDefault,  // the last resort for the whole account
};

struct Location {
  std::string key;   // stable identifier, e.g. "hq-floor-2"
  std::string name;  // "HQ Floor 2"
  std::string site;  // site name; empty for personal and account locations
  LocationKind kind = LocationKind::Company;
  CivicAddress civic;
  std::optional<double> latitude, longitude;  // WGS 84, when known
  std::vector<std::string> elins;             // E.164, least recently used first (issue 4)
  bool confirmed = true;                      // personal locations: confirmed by the user
  // The location's own PSAP route (trunk names, in order), overriding civic rules, boundaries
  // and the site route (issue 5). Empty: no override.
  std::vector<std::string> psapRoute;
};

// ---- What the store holds, as rows (the snapshot builder indexes them) ----

struct SubnetRow {
  std::string cidr;  // IPv4 or IPv6
  std::string locationKey;
};

struct BssidRow {
  // "00:11:22:33:44:55"; a trailing '*' in place of the last hex digit matches the 16 BSSIDs
  // one access point announces ("00:11:22:33:44:5*"). Separators ':' '-' '.' or none.
  std::string bssid;
  std::string locationKey;
};

struct SwitchRow {
  std::string chassis;  // LLDP chassis ID, usually a MAC
  std::string port;     // empty: the whole chassis
  std::string locationKey;
};

struct UserRow {
  std::string extension;  // "1001"
  std::string did;        // "+12175551001"
  std::string name;
  std::string site;
  std::vector<std::string> macs;
  bool nomadic = false;            // nomadic emergency services enabled
  bool locationPermission = true;  // may sosproxy use the device's network data
  // When the user answered that question themselves (Unix ms; issue 17); 0: never asked, the
  // setting is an admin's (or the default), and the self-service page asks at first use.
  int64_t permissionAnsweredAtMs = 0;
};

struct PersonalLocationRow {
  std::string extension;  // whose
  Location location;      // kind Personal
  // Networks that identify "I am here": a public IP or CIDR seen by the report API, or a BSSID.
  std::vector<std::string> matchNetworks;
  std::vector<std::string> matchBssids;
  // 0: kept. Otherwise a temporary hold ("use this address for this emergency only", issue
  // 17): used until this time (Unix ms), and only while the device's latest report is from
  // one of the networks above; never the user's confirmed address whatever the network.
  int64_t holdUntilMs = 0;
};

struct DeviceReport {
  std::string extension;  // the user the device belongs to
  std::string mac;
  std::string ip;  // as seen by the report API (for a home worker: the home's public IP)
  std::string bssid;
  std::string chassis;
  std::string port;
  int64_t reportedAtMs = 0;  // Unix time, milliseconds
  // Sent by the network (a WLAN controller, an LLDP collector: the API's network-reporter
  // role) rather than by the phone itself.
  bool networkProvided = false;
};

struct SiteDefaultRow {
  std::string site;
  std::string locationKey;
};

// Everything a snapshot is built from.
struct LocationData {
  std::vector<Location> locations;  // company, site-default and account-default locations
  std::vector<SubnetRow> subnets;
  std::vector<BssidRow> bssids;
  std::vector<SwitchRow> switches;
  std::vector<UserRow> users;
  std::vector<PersonalLocationRow> personal;
  std::vector<SiteDefaultRow> siteDefaults;
  std::string accountDefaultKey;
  std::vector<DeviceReport> reports;  // each device's latest report of each kind (phone, network)
  // The store's count of changes to this data when it was read (0: not from a store), so a
  // reader can tell whether the data has changed since.
  int64_t version = 0;
};

}  // namespace sos::model
