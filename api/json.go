package api

import "encoding/json"

// jsonMarshal is the encoder for every reply.
var jsonMarshal = json.Marshal
