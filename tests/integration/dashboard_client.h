#pragma once
// A client of a running `dmarcwatch serve`'s API, for the tests and the
// benchmarks: one kept-alive connection with a dashboard session.

#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPCookie.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/StreamCopier.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dmarcwatch::testing {

class DashboardClient {
 public:
  DashboardClient(const std::string& host, std::uint16_t port) : session_(host, port) {
    session_.setKeepAlive(true);
    session_.setTimeout(Poco::Timespan(60, 0));
  }

  // Opens a session (anonymous: serve without [[users]] on loopback).
  bool Login() {
    std::string body;
    if (Get("/api/v1/session", body) != 200) return false;
    return !cookie_.empty();
  }

  // The status, or 0 for a connection error (see last_error).
  int Get(const std::string& path, std::string& body) {
    try {
      Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                     Poco::Net::HTTPMessage::HTTP_1_1);
      if (!cookie_.empty()) {
        Poco::Net::NameValueCollection cookies;
        cookies.add("dmarcwatch_session", cookie_);
        request.setCookies(cookies);
      }
      session_.sendRequest(request);
      Poco::Net::HTTPResponse response;
      std::istream& in = session_.receiveResponse(response);
      body.clear();
      Poco::StreamCopier::copyToString(in, body);
      cache_ = response.get("X-Dmarcwatch-Cache", "");
      std::vector<Poco::Net::HTTPCookie> cookies;
      response.getCookies(cookies);
      for (const auto& c : cookies) {
        if (c.getName() == "dmarcwatch_session") cookie_ = c.getValue();
      }
      return static_cast<int>(response.getStatus());
    } catch (const Poco::Exception& e) {
      last_error_ = e.displayText();
      session_.reset();
      return 0;
    }
  }
  const std::string& last_error() const { return last_error_; }
  // The last response's X-Dmarcwatch-Cache header: "hit", "miss" or "".
  const std::string& cache() const { return cache_; }

 private:
  Poco::Net::HTTPClientSession session_;
  std::string cookie_;
  std::string last_error_;
  std::string cache_;
};

}  // namespace dmarcwatch::testing
