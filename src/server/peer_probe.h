#pragma once
// What a connected socket says about its client while the server is not reading from it (a
// request is being answered). A readiness report from the reactor is only a hint: it may have
// been taken before bytes that are gone since were read, so it must be checked here before the
// client is given up.
namespace r1d::server {

enum class PeerState {
  kQuiet,       // nothing to read and no error: a stale readiness report; the client is there
  kData,        // bytes wait to be read (a pipelined next request)
  kEndOfInput,  // the client shut down its sending side; it may still read (a half-close)
  kGone,        // the connection was reset or failed: no response can reach the client
};

// Looks at the socket without consuming anything and without blocking.
PeerState ProbePeer(int fd);

}  // namespace r1d::server
