#include "engine/json_prefix.h"

namespace hearth::engine {

namespace {

constexpr std::string_view kLiterals[3] = {"true", "false", "null"};

bool IsBlank(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }
bool IsHex(uint8_t c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool JsonPrefix::Blank(uint8_t c) {
  if (!IsBlank(c)) {
    blank_ = 0;
    return false;
  }
  return ++blank_ <= kMaxBlank;
}

bool JsonPrefix::StartValue(uint8_t c) {
  switch (c) {
    case '{':
    case '[':
      if (depth_ >= kMaxDepth) return false;
      stack_[depth_++] = static_cast<char>(c);
      mode_ = c == '{' ? kKeyOrEnd : kValueOrEnd;
      return true;
    case '"':
      mode_ = kString;
      key_ = false;
      return true;
    case '-': mode_ = kNumMinus; return true;
    case '0': mode_ = kNumZero; return true;
    case 't': case 'f': case 'n':
      lit_ = c == 't' ? 0 : c == 'f' ? 1 : 2;
      lit_pos_ = 1;
      mode_ = kLiteral;
      return true;
    default:
      if (c >= '1' && c <= '9') {
        mode_ = kNumInt;
        return true;
      }
      return false;
  }
}

// After a complete value: ',' or the close of the innermost container.
bool JsonPrefix::After(uint8_t c) {
  if (Blank(c)) return true;
  if (blank_ > kMaxBlank) return false;
  const char top = stack_[depth_ - 1];
  if (c == ',') {
    mode_ = top == '{' ? kKey : kValue;
    return true;
  }
  if ((c == '}' && top == '{') || (c == ']' && top == '[')) {
    return Close();
  }
  return false;
}

bool JsonPrefix::Close() {
  --depth_;
  mode_ = depth_ == 0 ? kDone : kAfter;
  return true;
}

// A number ends at the first byte that cannot continue it; that byte is read as what follows.
bool JsonPrefix::EndNumber(uint8_t c) {
  mode_ = kAfter;
  blank_ = 0;
  return After(c);
}

bool JsonPrefix::Feed(uint8_t c) {
  switch (mode_) {
    case kStart:
      if (Blank(c)) return true;
      if (c != '{' || blank_ > kMaxBlank) return false;
      return StartValue(c);
    case kValue:
      if (Blank(c)) return true;
      return blank_ <= kMaxBlank && StartValue(c);
    case kValueOrEnd:
      if (Blank(c)) return true;
      if (blank_ > kMaxBlank) return false;
      if (c == ']') {
        return Close();
      }
      return StartValue(c);
    case kKeyOrEnd:
    case kKey:
      if (Blank(c)) return true;
      if (blank_ > kMaxBlank) return false;
      if (c == '"') {
        mode_ = kString;
        key_ = true;
        return true;
      }
      if (c == '}' && mode_ == kKeyOrEnd) {
        return Close();
      }
      return false;
    case kColon:
      if (Blank(c)) return true;
      if (c != ':' || blank_ > kMaxBlank) return false;
      mode_ = kValue;
      return true;
    case kAfter:
      return After(c);
    case kString:
      if (c == '"') {
        mode_ = key_ ? kColon : kAfter;
        blank_ = 0;
        return true;
      }
      if (c == '\\') {
        mode_ = kEscape;
        return true;
      }
      return c >= 0x20;
    case kEscape:
      if (c == 'u') {
        mode_ = kHex;
        hex_left_ = 4;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
          c == 't') {
        mode_ = kString;
        return true;
      }
      return false;
    case kHex:
      if (!IsHex(c)) return false;
      if (--hex_left_ == 0) mode_ = kString;
      return true;
    case kNumMinus:
      if (c == '0') mode_ = kNumZero;
      else if (c >= '1' && c <= '9') mode_ = kNumInt;
      else return false;
      return true;
    case kNumZero:
    case kNumInt:
      if (mode_ == kNumInt && IsDigit(c)) return true;
      if (c == '.') {
        mode_ = kNumDot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        mode_ = kNumE;
        return true;
      }
      return EndNumber(c);
    case kNumDot:
      if (!IsDigit(c)) return false;
      mode_ = kNumFrac;
      return true;
    case kNumFrac:
      if (IsDigit(c)) return true;
      if (c == 'e' || c == 'E') {
        mode_ = kNumE;
        return true;
      }
      return EndNumber(c);
    case kNumE:
      if (c == '+' || c == '-') {
        mode_ = kNumESign;
        return true;
      }
      [[fallthrough]];
    case kNumESign:
      if (!IsDigit(c)) return false;
      mode_ = kNumExp;
      return true;
    case kNumExp:
      if (IsDigit(c)) return true;
      return EndNumber(c);
    case kLiteral: {
      const std::string_view lit = kLiterals[lit_];
      if (c != static_cast<uint8_t>(lit[lit_pos_])) return false;
      if (++lit_pos_ == lit.size()) {
        mode_ = kAfter;
        blank_ = 0;
      }
      return true;
    }
    case kDone:
      return Blank(c);  // only blank space may follow the object
  }
  return false;
}

}  // namespace hearth::engine
