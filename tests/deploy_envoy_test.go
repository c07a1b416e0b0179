package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	// The typed_config types the examples name, registered for protojson's Any resolution.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// TestDeployEnvoyProto reads each Envoy example into Envoy's own Bootstrap message (the protos
// of go-control-plane), typed configs included: a misspelt field, a wrong enum or a type URL
// Envoy does not know fails here rather than in Envoy at start, and the checks see what Envoy
// would.
func TestDeployEnvoyProto(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{name: "http ext_authz", file: "envoy/envoy.yaml"},
		{name: "grpc ext_authz", file: "envoy/envoy-grpc.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("../deploy", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			var b bootstrapv3.Bootstrap
			if err := protojson.Unmarshal(js, &b); err != nil {
				t.Fatalf("%s is not an Envoy bootstrap: %v", tt.file, err)
			}
			if err := b.ValidateAll(); err != nil {
				t.Errorf("%s fails Envoy's validation rules: %v", tt.file, err)
			}
		})
	}
}
