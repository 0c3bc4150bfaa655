#include "auth/authenticator.hpp"

#include "auth/password.hpp"

namespace partyline::auth {

Authenticator::Authenticator(const std::filesystem::path& database, util::Clock clock,
                             AuthenticatorOptions options)
    : users_(database, clock),
      sessions_(database, clock, options.sessions),
      limiter_(clock, options.sign_in) {}

SignInResult Authenticator::sign_in(std::string_view username, std::string_view password,
                                    std::string_view client_address) {
  const bool valid_name = db::valid_user_name(username);
  // A name that cannot exist is not tracked: it would only fill the table.
  const std::string_view name_key = valid_name ? username : std::string_view();
  if (const auto wait = limiter_.refused(name_key, client_address)) return Throttled{*wait};

  // Made before either branch, so the first attempt costs the same whether the name exists.
  const std::string& dummy = dummy_hash();
  const auto user = valid_name ? users_.find(std::string(username)) : std::nullopt;
  const bool acceptable = !password.empty() && password.size() <= kMaxPasswordBytes;
  const bool real = user && acceptable;
  const bool matches = verify_password(real ? user->hash : dummy, password);
  if (!real || !matches) {
    limiter_.failed(name_key, client_address);
    return WrongCredentials{};
  }
  limiter_.succeeded(username);
  return SignedIn{sessions_.create(user->name), Principal{user->name, user->role}};
}

std::optional<Principal> Authenticator::session(const std::string& token) {
  auto found = sessions_.find(token);
  if (!found) return std::nullopt;
  return Principal{std::move(found->user), found->role};
}

void Authenticator::sign_out(const std::string& token) {
  sessions_.remove(token);
}

}  // namespace partyline::auth
