#include "server/peer_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

namespace r1d::server {

PeerState ProbePeer(int fd) {
  char byte;
  ssize_t n;
  do {
    n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) return PeerState::kData;
  if (n < 0) {
    return errno == EAGAIN || errno == EWOULDBLOCK ? PeerState::kQuiet : PeerState::kGone;
  }
  // End of input. Once the FIN is in, recv() reports 0 even after a reset (the reset of a client
  // that closed for good, drawn by our next write); the pending error or the closed state tells
  // them apart.
  int error = 0;
  socklen_t len = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    return PeerState::kGone;
  }
#ifdef TCP_INFO
  tcp_info info{};
  len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == TCP_CLOSE) {
    return PeerState::kGone;
  }
#endif
  return PeerState::kEndOfInput;
}

}  // namespace r1d::server
