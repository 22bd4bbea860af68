import { Link } from './components/Link.js';
import { AccountPage } from './pages/AccountPage.js';
import { AdminUsersPage } from './pages/AdminUsersPage.js';
import { AdminTermsPage } from './pages/AdminTermsPage.js';
import { AdmissionPage } from './pages/AdmissionPage.js';
import { CatalogPage } from './pages/catalog/CatalogPage.js';
import { DatasetPage } from './pages/catalog/DatasetPage.js';
import { DraftPage } from './pages/catalog/DraftPage.js';
import { IngestPage } from './pages/catalog/IngestPage.js';
import { EditDatasetPage, NewDatasetPage } from './pages/catalog/NewDatasetPage.js';
import { ReportsQueuePage } from './pages/catalog/Reports.js';
import { AccessRequestsPage } from './pages/projects/AccessRequestsPage.js';
import { InvitationPage } from './pages/projects/InvitationPage.js';
import { NewProjectPage } from './pages/projects/NewProjectPage.js';
import { ProjectPage } from './pages/projects/ProjectPage.js';
import { ProjectsPage } from './pages/projects/ProjectsPage.js';
import { AirlockPage } from './pages/releases/AirlockPage.js';
import { ReleasePage } from './pages/releases/ReleasePage.js';
import { ForgotPasswordPage } from './pages/ForgotPasswordPage.js';
import { HomePage } from './pages/HomePage.js';
import { RegisterPage } from './pages/RegisterPage.js';
import { SetPasswordPage } from './pages/SetPasswordPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { StatusPage } from './pages/StatusPage.js';
import { TermsPage } from './pages/TermsPage.js';
import { VerifyEmailPage } from './pages/VerifyEmailPage.js';
import { ROUTES, useRouter } from './router.js';
import { can, SessionProvider, useSession } from './session.js';

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
  // What the session acts as, not what the person holds: reviewers and admins signed in without
  // their second factor see what everyone else sees.
  const reviews = can(user, 'admission.review');
  return (
    <span className="account">
      {(reviews || user.status !== 'admitted') && (
        <Link to="/admission" navigate={navigate}>
          {reviews ? 'Admission queue' : 'Your application'}
        </Link>
      )}
      {can(user, 'access.review') && (
        <Link to="/access-requests" navigate={navigate}>
          Access requests
        </Link>
      )}
      {can(user, 'release.review') && (
        <Link to="/airlock" navigate={navigate}>
          Airlock
        </Link>
      )}
      {can(user, 'terms.manage') && (
        <Link to="/admin/terms" navigate={navigate}>
          Manage terms
        </Link>
      )}
      {can(user, 'user.manage') && (
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

/**
 * What the signed-in person must do before the platform works fully for them: sign in with a
 * second factor for their roles, and accept the current terms before touching data.
 */
function Notices({ path, navigate }: { path: string; navigate: (to: string) => void }) {
  const { user, signOut } = useSession();
  if (!user) {
    return null;
  }
  const { enabled, required, thisSession } = user.secondFactor;
  const handleSignInAgain = () => {
    void signOut().then(() => {
      navigate(`/sign-in?next=${encodeURIComponent(path)}`);
    });
  };
  const needsSecondFactor = required && !thisSession;
  // Not on /terms itself, where the page says it.
  const needsTerms = user.status === 'admitted' && !user.termsAccepted && path !== '/terms';
  if (!needsSecondFactor && !needsTerms) {
    return null;
  }
  return (
    <div className="notices">
      {needsSecondFactor && (
        <p className="notice" data-testid="notice-second-factor">
          Your roles need two-factor sign-in:{' '}
          {enabled ? (
            <button type="button" className="link" onClick={handleSignInAgain}>
              sign in again with your code
            </button>
          ) : (
            <Link to="/account" navigate={navigate}>
              set it up
            </Link>
          )}
        </p>
      )}
      {needsTerms && (
        <p className="notice" data-testid="notice-terms">
          <Link to="/terms" navigate={navigate}>
            New terms: read and accept them before touching data
          </Link>
        </p>
      )}
    </div>
  );
}

function Layout() {
  const { path, navigate } = useRouter();
  const { user } = useSession();
  const termsVersion = /^\/terms\/versions\/([1-9]\d{0,5})$/.exec(path)?.[1];
  // /datasets/SLUG, /datasets/SLUG/versions/1.0, /datasets/SLUG/draft, /datasets/SLUG/edit (slugs as @lantern/core's).
  const dataset =
    /^\/datasets\/([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?:\/versions\/(\d{1,6}\.\d{1,6}(?:\.\d{1,6})?)|\/(draft)|\/(edit))?$/.exec(
      path,
    );
  // /projects/prj_0123456789abcdef (ids as @lantern/core/projects' PROJECT_ID).
  const projectId = /^\/projects\/(prj_[0-9a-f]{16})$/.exec(path)?.[1];
  // /releases/rel_0123456789abcdef (ids as @lantern/core/releases' RELEASE_ID).
  const releaseId = /^\/releases\/(rel_[0-9a-f]{16})$/.exec(path)?.[1];
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
    ) : path === '/terms' ? (
      <TermsPage />
    ) : termsVersion !== undefined ? (
      <TermsPage version={Number(termsVersion)} />
    ) : path === '/admin/terms' ? (
      <AdminTermsPage />
    ) : path === '/projects' ? (
      <ProjectsPage navigate={navigate} />
    ) : path === '/projects/new' ? (
      <NewProjectPage navigate={navigate} />
    ) : projectId !== undefined ? (
      <ProjectPage key={projectId} id={projectId} navigate={navigate} />
    ) : releaseId !== undefined ? (
      <ReleasePage key={releaseId} id={releaseId} navigate={navigate} />
    ) : path === '/airlock' ? (
      <AirlockPage navigate={navigate} />
    ) : path === '/invitations' ? (
      <InvitationPage navigate={navigate} />
    ) : path === '/access-requests' ? (
      <AccessRequestsPage navigate={navigate} />
    ) : path === '/datasets' ? (
      <CatalogPage navigate={navigate} />
    ) : path === '/datasets/new' ? (
      <NewDatasetPage navigate={navigate} />
    ) : path === '/datasets/ingest' ? (
      <IngestPage navigate={navigate} />
    ) : path === '/datasets/reports' ? (
      <ReportsQueuePage navigate={navigate} />
    ) : dataset?.[1] !== undefined && dataset[4] !== undefined ? (
      <EditDatasetPage key={dataset[1]} slug={dataset[1]} navigate={navigate} />
    ) : dataset?.[1] !== undefined && dataset[3] !== undefined ? (
      <DraftPage key={dataset[1]} slug={dataset[1]} navigate={navigate} />
    ) : dataset?.[1] !== undefined ? (
      <DatasetPage
        key={dataset[1]}
        slug={dataset[1]}
        {...(dataset[2] === undefined ? {} : { version: dataset[2] })}
        navigate={navigate}
      />
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
            {/* Projects are for admitted people (the server also wants the current terms). */}
            {can(user, 'project.work') && (
              <li>
                <Link
                  to="/projects"
                  navigate={navigate}
                  current={path === '/projects' || path.startsWith('/projects/')}
                >
                  Projects
                </Link>
              </li>
            )}
          </ul>
          <Account navigate={navigate} />
        </nav>
        <Notices path={path} navigate={navigate} />
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
