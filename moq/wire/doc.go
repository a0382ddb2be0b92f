// Package wire is the pure wire codec of MoQ Transport,
// draft-ietf-moq-transport-18 and draft-ietf-moq-transport-19 (ALPNs
// "moqt-18" and "moqt-19"). It reads from io.Reader / io.ByteReader or byte
// slices and appends to byte slices; it does no other I/O, starts no
// goroutines and keeps no session state. A Version argument selects the
// encoding where the drafts differ.
//
// Every decoder bounds peer-controlled lengths and counts with Limits before
// allocating and reports malformed input as an *Error carrying the session
// termination code the draft requires (usually PROTOCOL_VIOLATION).
//
// Where each part of the drafts lives (section numbers are the same in
// both drafts unless noted):
//
//	§1.4.1  Variable-Length Integers           varint.go
//	§1.4.2  Location Structure                 location.go
//	§1.4.3  Key-Value-Pair Structure           keyvalue.go
//	§1.4.4  Reason Phrase Structure            decoder.go
//	§1.5    Representing Namespace/Track Names namespace.go (String, Parse*String)
//	§2.4.1  Track Naming                       namespace.go
//	§2.5    Properties                         keyvalue.go (Properties)
//	§3.3.3  Stream Reset Error Codes           errors.go (ResetCode)
//	§3.4    Unidirectional Stream Types        stream.go
//	§3.5    Termination (error codes)          errors.go (ErrorCode)
//	§5.1.2  Subscription/Location Filters      filter.go
//	§5.1.3  Range Filters (draft-19)           filter.go (RangeFilter)
//	§10     Control Messages (framing)         message.go
//	§10.2   Message Parameters                 params.go
//	§10.2.2 AUTHORIZATION TOKEN                token.go
//	§10.3   SETUP                              setup.go
//	§10.4   GOAWAY                             goaway.go
//	§10.5   REQUEST_OK                         request_ok.go
//	§10.6   REQUEST_ERROR                      request_error.go
//	§10.7   SUBSCRIBE                          subscribe.go
//	§10.8   SUBSCRIBE_OK                       subscribe_ok.go
//	§10.9   REQUEST_UPDATE                     request_update.go
//	§10.10  PUBLISH                            publish.go
//	§10.11  PUBLISH_DONE                       publish_done.go
//	§10.12  FETCH                              fetch.go
//	§10.13  FETCH_OK                           fetch_ok.go
//	§10.14  TRACK_STATUS                       track_status.go
//	§10.15  PUBLISH_NAMESPACE                  publish_namespace.go
//	§10.16  NAMESPACE                          namespace_msg.go
//	§10.17  NAMESPACE_DONE                     namespace_done.go
//	§10.18  SUBSCRIBE_NAMESPACE                subscribe_namespace.go
//	§10.19  SUBSCRIBE_TRACKS                   subscribe_tracks.go
//	§10.20  PUBLISH_BLOCKED / PUBLISH_SKIPPED  publish_skipped.go
//	§11.2.1 Object Status, Object Properties   stream.go
//	§11.3.1 Object Datagram                    datagram.go
//	§11.4.2 Subgroup Header and objects        subgroup.go
//	§11.4.4 Fetch Header, flags, End of Range  fetch_stream.go
//	§11.5   Padding                            stream.go, datagram.go
//	§12     MOQT Properties                    keyvalue.go
package wire
