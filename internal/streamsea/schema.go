package streamsea

// FieldType is the wire name of a schema field type.
type FieldType string

// The eleven field types of stream-sea 4.x.
const (
	TypeString       FieldType = "string"
	TypeFloat        FieldType = "float"
	TypeInteger      FieldType = "integer"
	TypeDate         FieldType = "date"
	TypeStringArray  FieldType = "array<string>"
	TypeFloatArray   FieldType = "array<float>"
	TypeIntegerArray FieldType = "array<integer>"
	TypeDateArray    FieldType = "array<date>"
	TypeEnum         FieldType = "enum"
	TypeObject       FieldType = "object"
	TypeObjectArray  FieldType = "array<object>"
)

// FieldTypes lists the field types, in the order above.
var FieldTypes = []FieldType{TypeString, TypeFloat, TypeInteger, TypeDate, TypeStringArray, TypeFloatArray,
	TypeIntegerArray, TypeDateArray, TypeEnum, TypeObject, TypeObjectArray}

// Field is one field of a schema, in its exact wire form. Enum is set for TypeEnum only; Fields
// for TypeObject and TypeObjectArray only.
type Field struct {
	Name   string    `json:"name"`
	Type   FieldType `json:"type"`
	Enum   []string  `json:"enum,omitempty"`
	Fields []Field   `json:"fields,omitempty"`
}

// Schema is a stream's schema definition, in its exact wire form. Fields are an unordered set.
type Schema struct {
	Name    string  `json:"name"`
	Version Version `json:"version"`
	Fields  []Field `json:"fields"`
}

// Version is a schema version number. It is encoded as a JSON number; decoding also accepts a
// string holding a whole number.
type Version int64
