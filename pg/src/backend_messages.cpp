// Accessors of the parsed backend messages: DataRow's cells, the command
// tag's row count, and the type byte each message travels under.
#include <actorloop/pg/backend.hpp>

#include <charconv>
#include <stdexcept>

namespace actorloop::pg {

void data_row::out_of_range(std::size_t index) const {
  throw std::out_of_range("data_row: value " + std::to_string(index) + " of a row with " +
                          std::to_string(count_) + " values");
}

void data_row::push_back(std::optional<std::string_view> value) {
  // The cell table grows in front of the values: insert one cell at its end.
  cell entry;
  entry.offset = static_cast<std::uint32_t>(storage_.size() - count_ * sizeof(cell));
  if (value)
    entry.length = static_cast<std::int32_t>(value->size());
  storage_.insert(count_ * sizeof(cell), reinterpret_cast<const char*>(&entry), sizeof(cell));
  if (value)
    storage_.append(*value);
  ++count_;
}

bool operator==(const data_row& left, const data_row& right) {
  if (left.size() != right.size())
    return false;
  for (std::size_t index = 0; index < left.size(); ++index)
    if (left.is_null(index) != right.is_null(index) || left.value(index) != right.value(index))
      return false;
  return true;
}

std::string_view command_complete::command() const {
  // The command words are the tag up to the first word that is a number.
  std::string_view text = tag;
  std::size_t end = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto space = text.find(' ', pos);
    auto word = text.substr(pos, space == std::string_view::npos ? space : space - pos);
    if (!word.empty() && word.find_first_not_of("0123456789") == std::string_view::npos)
      break;
    end = pos + word.size();
    if (space == std::string_view::npos)
      break;
    pos = space + 1;
  }
  return text.substr(0, end);
}

std::optional<std::uint64_t> command_complete::rows() const {
  static constexpr std::string_view counted[] = {"INSERT", "DELETE", "UPDATE", "MERGE",
                                                 "SELECT", "MOVE",   "FETCH",  "COPY"};
  auto verb = command();
  bool counts = false;
  for (auto word : counted)
    counts = counts || verb == word;
  if (!counts)
    return std::nullopt;
  // The count is the last word ("INSERT 0 5": oid 0, 5 rows).
  std::string_view text = tag;
  auto space = text.rfind(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto number = text.substr(space + 1);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || end != number.data() + number.size())
    return std::nullopt;
  return value;
}

char type_byte(const backend_message& message) noexcept {
  struct visitor {
    char operator()(const authentication_request&) const { return 'R'; }
    char operator()(const backend_key_data&) const { return 'K'; }
    char operator()(const parameter_status&) const { return 'S'; }
    char operator()(const ready_for_query&) const { return 'Z'; }
    char operator()(const row_description&) const { return 'T'; }
    char operator()(const data_row&) const { return 'D'; }
    char operator()(const command_complete&) const { return 'C'; }
    char operator()(const server_message& m) const { return m.is_error ? 'E' : 'N'; }
    char operator()(const notification_response&) const { return 'A'; }
    char operator()(const copy_response& m) const { return static_cast<char>(m.kind); }
    char operator()(const copy_data&) const { return 'd'; }
    char operator()(const copy_done&) const { return 'c'; }
    char operator()(const parameter_description&) const { return 't'; }
    char operator()(const negotiate_protocol_version&) const { return 'v'; }
    char operator()(const function_call_response&) const { return 'V'; }
    char operator()(const parse_complete&) const { return '1'; }
    char operator()(const bind_complete&) const { return '2'; }
    char operator()(const close_complete&) const { return '3'; }
    char operator()(const no_data&) const { return 'n'; }
    char operator()(const portal_suspended&) const { return 's'; }
    char operator()(const empty_query_response&) const { return 'I'; }
  };
  return std::visit(visitor{}, message);
}

} // namespace actorloop::pg
