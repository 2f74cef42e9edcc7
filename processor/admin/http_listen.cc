#include "processor/admin/http_listen.h"

#include <CivetServer.h>

namespace noisegate::processor {

std::unique_ptr<CivetServer> HttpListen(const std::string& listen, std::vector<std::string> options,
                                        int* port, std::string* error) {
  options.insert(options.begin(), {"listening_ports", listen});
  std::unique_ptr<CivetServer> server;
  try {
    server = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    *error = "cannot listen on " + listen + ": " + e.what();
    return nullptr;
  }
  if (server->getContext() == nullptr) {
    *error = "cannot listen on " + listen;
    return nullptr;
  }
  std::vector<int> ports = server->getListeningPorts();
  *port = ports.empty() ? 0 : ports[0];
  return server;
}

}  // namespace noisegate::processor
