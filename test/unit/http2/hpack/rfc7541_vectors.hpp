// RFC 7541 Appendix C.3-C.6: three consecutive header lists per section, their encodings
// (hex dumps from the RFC) and the dynamic table size after each.
#pragma once

#include <array>
#include <string_view>
#include <utility>
#include <vector>

namespace kakehi::http2::hpack::test {

struct RfcBlock {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  std::string_view hex;
  unsigned table_size;  // dynamic table size after decoding
};

struct RfcSequence {
  const char* name;
  unsigned settings_table_size;  // SETTINGS_HEADER_TABLE_SIZE for the section
  bool huffman;
  std::array<RfcBlock, 3> blocks;
};

inline const std::vector<std::pair<std::string_view, std::string_view>> kReq1 = {
    {":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "www.example.com"}};
inline const std::vector<std::pair<std::string_view, std::string_view>> kReq2 = {
    {":method", "GET"},
    {":scheme", "http"},
    {":path", "/"},
    {":authority", "www.example.com"},
    {"cache-control", "no-cache"}};
inline const std::vector<std::pair<std::string_view, std::string_view>> kReq3 = {
    {":method", "GET"},
    {":scheme", "https"},
    {":path", "/index.html"},
    {":authority", "www.example.com"},
    {"custom-key", "custom-value"}};
inline const std::vector<std::pair<std::string_view, std::string_view>> kResp1 = {
    {":status", "302"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
    {"location", "https://www.example.com"}};
inline const std::vector<std::pair<std::string_view, std::string_view>> kResp2 = {
    {":status", "307"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:21 GMT"},
    {"location", "https://www.example.com"}};
inline const std::vector<std::pair<std::string_view, std::string_view>> kResp3 = {
    {":status", "200"},
    {"cache-control", "private"},
    {"date", "Mon, 21 Oct 2013 20:13:22 GMT"},
    {"location", "https://www.example.com"},
    {"content-encoding", "gzip"},
    {"set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"}};

inline const std::array<RfcSequence, 4> kRfcSequences = {{
    {"C.3",
     4096,
     false,
     {{{kReq1, "828684410f7777772e6578616d706c652e636f6d", 57},
       {kReq2, "828684be58086e6f2d6361636865", 110},
       {kReq3, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565", 164}}}},
    {"C.4",
     4096,
     true,
     {{{kReq1, "828684418cf1e3c2e5f23a6ba0ab90f4ff", 57},
       {kReq2, "828684be5886a8eb10649cbf", 110},
       {kReq3, "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf", 164}}}},
    {"C.5",
     256,
     false,
     {{{kResp1,
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120"
        "474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        222},
       {kResp2, "4803333037c1c0bf", 222},
       {kResp3,
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738"
        "666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d33"
        "3630303b2076657273696f6e3d31",
        215}}}},
    {"C.6",
     256,
     true,
     {{{kResp1,
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad1718"
        "63c78f0b97c8e9ae82ae43d3",
        222},
       {kResp2, "4883640effc1c0bf", 222},
       {kResp3,
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7"
        "b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
        215}}}},
}};

}  // namespace kakehi::http2::hpack::test
