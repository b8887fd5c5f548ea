package sjson

import "unicode/utf8"

// Hearth patch. Stock 1.24 decodes every stored value with a json.Decoder of its own (a
// buffer allocated and the bytes copied into it, then checked for leftovers): sjson.Unmarshal
// was 63 % of FerretDB's CPU reading tenancy documents by `_id $in`. Each value is now
// decoded with json.Unmarshal over the bytes it already has, and a string without escapes —
// almost every string stored — is taken as it is.

// hearthPlainString returns the value of a JSON string that has no escapes (its own bytes),
// or false when encoding/json must decode it.
func hearthPlainString(data []byte) (string, bool) {
	n := len(data)
	if n < 2 || data[0] != '"' || data[n-1] != '"' {
		return "", false
	}

	inner := data[1 : n-1]
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}

	// encoding/json turns invalid UTF-8 into U+FFFD: leave those to it.
	if !utf8.Valid(inner) {
		return "", false
	}

	return string(inner), true
}
