#include "controller/http_server.h"


#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/http/https_server.h"
#include "controller/forward.h"
#include "controller/metrics.h"
#include "google/protobuf/util/json_util.h"
#include "httplib.h"

namespace hacluster::controller {
namespace {

namespace av1 = ::hacluster::agent::v1;

std::string JsonOf(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

void Error(httplib::Response& res, int code, const std::string& message) {
  agent::JsonError(res, code, message);
}

// The HTTP code for a failed call's status.
int HttpCodeOf(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

// Writes need an admin (or node) certificate (403 otherwise), and must
// come from this origin: a browser that holds an admin's certificate sends
// it to any page's cross-site form too. A JSON body (Content-Type
// application/json, 415 otherwise) cannot be sent cross-site without a CORS
// preflight, which this server never grants; and a browser's
// Sec-Fetch-Site or Origin naming another site is refused (403).
bool RequireAdmin(const httplib::Request& req, httplib::Response& res, agent::Logger& logger) {
  const std::string who = req.get_header_value("X-Ha-Caller");
  if (!absl::StartsWith(req.get_header_value("Content-Type"), "application/json")) {
    Error(res, 415, absl::StrCat(req.method, " ", req.path,
                                 " takes a JSON body: send Content-Type: application/json"));
    return false;
  }
  const std::string site = req.get_header_value("Sec-Fetch-Site");
  const std::string origin = req.get_header_value("Origin");
  if ((!site.empty() && site != "same-origin" && site != "none") ||
      (!origin.empty() && origin != absl::StrCat("https://", req.get_header_value("Host")))) {
    Error(res, 403, absl::StrCat(req.method, " ", req.path, " from another site (",
                                 origin.empty() ? site : origin, ") is refused"));
    logger.Warn(absl::StrCat("HTTP ", req.method, " ", req.path, " by ", who,
                             " refused: cross-site (", origin.empty() ? site : origin, ")"));
    return false;
  }
  if (req.get_header_value("X-Ha-Role") == "admin") return true;
  Error(res, 403, absl::StrCat(who, " is a reader: ", req.method, " ", req.path,
                               " needs an admin certificate"));
  logger.Warn(absl::StrCat("HTTP ", req.method, " ", req.path, " by ", who, " refused: not admin"));
  return false;
}

template <typename M>
bool ParseBody(const httplib::Request& req, httplib::Response& res, M* out) {
  if (req.body.empty()) return true;
  google::protobuf::util::JsonParseOptions o;
  auto s = google::protobuf::util::JsonStringToMessage(req.body, out, o);
  if (!s.ok()) {
    Error(res, 400, absl::StrCat("the body is not a valid ", out->GetTypeName(), " in JSON: ",
                                 std::string(s.message())));
    return false;
  }
  return true;
}

}  // namespace

HttpServer::HttpServer(const Fleet& fleet, agent::Logger& logger)
    : fleet_(fleet), logger_(logger) {}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start(const HttpOptions& options) {
  agent::HttpsOptions https;
  https.host = options.host;
  https.port = options.port;
  https.tls_cert = options.tls_cert;
  https.tls_key = options.tls_key;
  https.tls_client_ca = options.tls_client_ca;
  https.threads = options.threads;
  https.max_body = kMaxBodyBytes;
  https_ = std::make_unique<agent::HttpsServer>();
  if (absl::Status s = https_->Init(https); !s.ok()) return s;
  httplib::SSLServer* server = &https_->server();
  // Every request has passed the client-certificate check (HttpsServer);
  // the POST handlers check for admin (RequireAdmin).
  server->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' "
                   "'unsafe-inline'");
    res.set_content(kDashboardHtml, "text/html; charset=utf-8");
  });
  server->Get("/v1/whoami", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(absl::StrCat("{\"subject\": ", agent::JsonString(req.get_header_value("X-Ha-Caller")),
                                 ", \"role\": ", agent::JsonString(req.get_header_value("X-Ha-Role")),
                                 "}\n"),
                    "application/json");
  });
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    MetricsWriter w;
    const Catalog& catalog = fleet_.catalog();
    std::vector<std::shared_ptr<const v1::ClusterStatus>> all = fleet_.Statuses();
    for (size_t i = 0; i < all.size(); ++i) {
      w.AddClusterDrift(catalog.clusters[i].name, all[i]->config_drift());
      for (const v1::NodeView& v : all[i]->nodes()) {
        w.AddReachable(catalog.clusters[i].name, v.node(), v.reachable());
        if (v.reachable()) w.AddAgentStatus(catalog.clusters[i].name, v.status());
      }
    }
    res.set_content(w.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server->Get("/v1/clusters", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(JsonOf(fleet_.ListClusters()), "application/json");
  });
  server->Get(R"(/v1/clusters/([^/]+)/status)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 std::shared_ptr<const v1::ClusterStatus> st = fleet_.Status(req.matches[1]);
                 if (st == nullptr) return Error(res, 404, absl::StrCat("no cluster ", std::string(req.matches[1])));
                 res.set_content(JsonOf(*st), "application/json");
               });
  server->Get(R"(/v1/clusters/([^/]+)/servers)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 absl::StatusOr<v1::ClusterServersResponse> r = fleet_.ListServers(req.matches[1]);
                 if (!r.ok()) return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
                 res.set_content(JsonOf(*r), "application/json");
               });
  server->Get(R"(/v1/where/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<v1::WhereResponse> r =
        fleet_.Where(req.matches[1], req.get_param_value("cluster"));
    if (!r.ok()) return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
    res.set_content(JsonOf(*r), "application/json");
  });
  server->Get("/v1/events", [this](const httplib::Request& req, httplib::Response& res) {
    uint64_t cursor = 0;
    const std::string last = req.get_header_value("Last-Event-ID");
    if (!last.empty() && !absl::SimpleAtoi(last, &cursor)) {
      return Error(res, 400, "Last-Event-ID is not a number");
    }
    const std::string cluster = req.get_param_value("cluster");
    if (!cluster.empty() && fleet_.catalog().Find(cluster) == nullptr) {
      return Error(res, 404, absl::StrCat("no cluster ", cluster));
    }
    res.set_header("Cache-Control", "no-store");
    auto state = std::make_shared<uint64_t>(cursor);
    res.set_chunked_content_provider(
        "text/event-stream", [this, state, cluster](size_t, httplib::DataSink& sink) {
          std::vector<v1::ClusterEvent> batch;
          if (!fleet_.NextEvents(state.get(), cluster, absl::Seconds(10), &batch)) {
            sink.done();
            return true;
          }
          std::string out;
          for (const v1::ClusterEvent& e : batch) {
            absl::StrAppend(&out, "id: ", e.id(), "\nevent: cluster-event\ndata: ", JsonOf(e),
                            "\n\n");
          }
          // A comment keeps the connection alive and finds a gone client.
          if (out.empty()) out = ": keep-alive\n\n";
          return sink.write(out.data(), out.size());
        });
  });

  auto write = [this](const httplib::Request& req, httplib::Response& res, const std::string& call,
                      const absl::StatusOr<av1::OperationResponse>& r) {
    const std::string who = req.get_header_value("X-Ha-Caller");
    if (!r.ok()) {
      logger_.Info(absl::StrCat("HTTP ", call, " by ", who, ": failed: ", r.status().message()));
      return Error(res, HttpCodeOf(r.status()), std::string(r.status().message()));
    }
    logger_.Info(absl::StrCat("HTTP ", call, " by ", who, ": ", r->message()));
    res.set_content(JsonOf(*r), "application/json");
  };
  server->Post(R"(/v1/clusters/([^/]+)/nodes/([^/]+)/standby)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  if (!RequireAdmin(req, res, logger_)) return;
                  v1::NodeStandbyRequest r;
                  r.set_cluster(req.matches[1]);
                  r.set_node(req.matches[2]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res, absl::StrCat("standby ", r.cluster(), "/", r.node()),
                        ForwardStandby(fleet_, r));
                });
  server->Post(R"(/v1/clusters/([^/]+)/nodes/([^/]+)/takeover)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  if (!RequireAdmin(req, res, logger_)) return;
                  v1::NodeTakeoverRequest r;
                  r.set_cluster(req.matches[1]);
                  r.set_node(req.matches[2]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res, absl::StrCat("takeover ", r.cluster(), "/", r.node()),
                        ForwardTakeover(fleet_, r));
                });
  server->Post(R"(/v1/clusters/([^/]+)/move)",
                [this, write](const httplib::Request& req, httplib::Response& res) {
                  if (!RequireAdmin(req, res, logger_)) return;
                  v1::ClusterMoveRequest r;
                  r.set_cluster(req.matches[1]);
                  if (!ParseBody(req, res, r.mutable_request())) return;
                  write(req, res,
                        absl::StrCat("move ", r.cluster(), " ", r.request().group(), " to ",
                                     r.request().node()),
                        ForwardMove(fleet_, r));
                });

  absl::Status listening = https_->Listen();
  if (!listening.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("--listen: ", listening.message()));
  }
  port_ = https_->port();
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (https_ != nullptr) https_->Stop();
}

}  // namespace hacluster::controller
