#include "processor/admin/admin_server.h"

#include <CivetServer.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace noisegate::processor {

class AdminServer::Handler : public CivetHandler {
 public:
  enum Kind { kMetrics, kHealthz, kReadyz };
  Handler(Kind kind, AdminServer* owner) : kind_(kind), owner_(owner) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    int status = 200;
    std::string body, type = "text/plain; charset=utf-8";
    switch (kind_) {
      case kMetrics: {
        std::ostringstream out;
        prometheus::TextSerializer().Serialize(out, owner_->registry_->Collect());
        body = out.str();
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      }
      case kHealthz:
        if (owner_->health_->Alive(std::chrono::seconds(60))) {
          body = "ok\n";
        } else {
          status = 503;
          body = "the processing loop has not turned for 60 s\n";
        }
        break;
      case kReadyz: {
        std::string reason;
        if (owner_->health_->Ready(&reason)) {
          body = "ready\n";
        } else {
          status = 503;
          body = "not ready: " + reason + "\n";
        }
        break;
      }
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              status, status == 200 ? "OK" : "Service Unavailable", type.c_str(), body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  Kind kind_;
  AdminServer* owner_;
};

AdminServer::AdminServer(std::shared_ptr<prometheus::Registry> registry,
                         std::shared_ptr<Health> health)
    : registry_(std::move(registry)), health_(std::move(health)) {}

AdminServer::~AdminServer() {
  if (server_) server_->close();
}

bool AdminServer::Start(const std::string& listen, std::string* error) {
  std::vector<std::string> options = {"listening_ports", listen, "num_threads", "2"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    *error = "cannot listen on " + listen + ": " + e.what();
    return false;
  }
  if (server_->getContext() == nullptr) {
    *error = "cannot listen on " + listen;
    return false;
  }
  metrics_ = std::make_unique<Handler>(Handler::kMetrics, this);
  healthz_ = std::make_unique<Handler>(Handler::kHealthz, this);
  readyz_ = std::make_unique<Handler>(Handler::kReadyz, this);
  server_->addHandler("/metrics", metrics_.get());
  server_->addHandler("/healthz", healthz_.get());
  server_->addHandler("/readyz", readyz_.get());
  std::vector<int> ports = server_->getListeningPorts();
  port_ = ports.empty() ? 0 : ports[0];
  return true;
}

}  // namespace noisegate::processor
