import { Link } from './components/Link.js';
import { AccountPage } from './pages/AccountPage.js';
import { AdminUsersPage } from './pages/AdminUsersPage.js';
import { AdmissionPage } from './pages/AdmissionPage.js';
import { ForgotPasswordPage } from './pages/ForgotPasswordPage.js';
import { HomePage } from './pages/HomePage.js';
import { RegisterPage } from './pages/RegisterPage.js';
import { SetPasswordPage } from './pages/SetPasswordPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { StatusPage } from './pages/StatusPage.js';
import { VerifyEmailPage } from './pages/VerifyEmailPage.js';
import { ROUTES, useRouter } from './router.js';
import { SessionProvider, useSession } from './session.js';

function NotFoundPage({ path }: { path: string }) {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>There is no page at {path}.</p>
    </section>
  );
}

function Account({ navigate }: { navigate: (to: string) => void }) {
  const { user, signOut } = useSession();
  if (user === undefined) {
    return null;
  }
  if (user === null) {
    return (
      <Link to="/sign-in" navigate={navigate}>
        Sign in
      </Link>
    );
  }
  const handleSignOut = () => {
    void signOut().then(() => {
      navigate('/');
    });
  };
  const reviews =
    user.status === 'admitted' && (user.roles.includes('reviewer') || user.roles.includes('admin'));
  return (
    <span className="account">
      {(reviews || user.status !== 'admitted') && (
        <Link to="/admission" navigate={navigate}>
          {reviews ? 'Admission queue' : 'Your application'}
        </Link>
      )}
      {user.status === 'admitted' && user.roles.includes('admin') && (
        <Link to="/admin/users" navigate={navigate}>
          People
        </Link>
      )}
      <Link to="/account" navigate={navigate}>
        <span data-testid="signed-in-as">{user.name}</span>
      </Link>{' '}
      <button type="button" onClick={handleSignOut}>
        Sign out
      </button>
    </span>
  );
}

function Layout() {
  const { path, navigate } = useRouter();
  const page =
    path === '/' ? (
      <HomePage />
    ) : path === '/status' ? (
      <StatusPage />
    ) : path === '/sign-in' ? (
      <SignInPage navigate={navigate} />
    ) : path === '/set-password' ? (
      <SetPasswordPage navigate={navigate} />
    ) : path === '/forgot-password' ? (
      <ForgotPasswordPage />
    ) : path === '/register' ? (
      <RegisterPage />
    ) : path === '/verify-email' ? (
      <VerifyEmailPage />
    ) : path === '/admission' ? (
      <AdmissionPage />
    ) : path === '/admin/users' ? (
      <AdminUsersPage />
    ) : path === '/account' ? (
      <AccountPage navigate={navigate} />
    ) : (
      <NotFoundPage path={path} />
    );
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <span className="brand">Lantern</span>
          <ul>
            {ROUTES.map((route) => (
              <li key={route.path}>
                <Link to={route.path} navigate={navigate} current={route.path === path}>
                  {route.title}
                </Link>
              </li>
            ))}
          </ul>
          <Account navigate={navigate} />
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
      <footer>
        Open platform for secure research on de-identified health data. Everything is recorded.
      </footer>
    </>
  );
}

/** The app: who is signed in, and the page for the current path. */
export function App() {
  return (
    <SessionProvider>
      <Layout />
    </SessionProvider>
  );
}
